"Time training steps of a named configuration: python scripts/train_speed.py CONFIG BATCH STEPS (flowfer-bench will replace it)."
import sys, time, resource, torch
from flowfer_nb.core import configure_threads, seed_everything
from flowfer_nb.classifier import FlowClassifier, count_parameters
from flowfer_nb.train import load_config
configure_threads()
name, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mcfg, tcfg = load_config(name)
seed_everything(0)
m = FlowClassifier(mcfg)
opt = torch.optim.Adam(m.parameters(), lr=tcfg.lr)
x = torch.randint(0, 256, (batch, 3, mcfg.image_size, mcfg.image_size), dtype=torch.uint8)
y = torch.randint(0, mcfg.n_classes, (batch,))
m.initialize(x)
times = []
for i in range(steps + 1):
    t0 = time.perf_counter()
    out = m.loss(x, y); opt.zero_grad(); out["loss"].backward(); opt.step()
    times.append(time.perf_counter() - t0)
t = sum(times[1:]) / steps
print(f"{name}: params {count_parameters(m)/1e6:.2f}M, threads {torch.get_num_threads()}, batch {batch}: {t:.2f} s/step, "
      f"{batch / t:.1f} train img/s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

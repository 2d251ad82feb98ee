"""The paper configuration on one GPU, as fast as this code can make it: one prepared run of about 8 minutes.

    python scripts/gpu_paper.py --device cuda [--budget 480] [--out DIR]     # on a lent GPU (PYTHONPATH=. from the root)
    python scripts/gpu_paper.py --device cpu --smoke                          # the rehearsal on a CPU

Steps, each under the time left of `--budget` seconds:
1. the paper's model (64x64, 4 levels x 32 steps, hidden 512, h of 4 steps) with the fast levers (bf16 coupling networks,
   TF32 on CUDA; channels-last on CPU) and activation recomputation;
2. the largest batch (of 32, 64, 128, 256, 512) whose training step fits in memory;
3. that step compiled with torch.compile(mode="reduce-overhead") (CUDA graphs on CUDA), timed against the eager step:
   images/s, compile seconds, peak memory;
4. the bits/dim of 16 images under the fast levers against float32 (the largest per-image gap, and BF16_BPD_TOL).
Writes gpu_paper.json to --out (default $OUT or /tmp/flowfer_gpu_paper) and prints one table. Needs torch and numpy."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

from flowfer_nb.classifier import FlowClassifier, ModelConfig
from flowfer_nb.flows import BF16_BPD_TOL, perturb_
from flowfer_nb.train import model_channels_last, use_levers

BATCHES = (32, 64, 128, 256, 512)
PAPER = dict(image_size=64, n_blocks=4, n_flows=32, hidden=512, cond_flows=4, cond_hidden=512, n_classes=6)
SMOKE = dict(image_size=16, n_blocks=2, n_flows=2, hidden=16, cond_flows=2, cond_hidden=16, n_classes=6)
TARGET_IMG_S = 760  # the paper's 1,200 epochs x 54,511 frames in 24 hours on one GPU


def sync(dev):
    if dev.type == "cuda": torch.cuda.synchronize(dev)


def build(cfg: dict, dev, levers: str, checkpoint: bool) -> FlowClassifier:
    torch.manual_seed(0)
    m = FlowClassifier(ModelConfig(**cfg)).to(dev)
    m.initialize(torch.randint(0, 256, (8, 3, cfg["image_size"], cfg["image_size"]), dtype=torch.uint8, device=dev))
    use_levers(m, levers, dev)
    if checkpoint:
        for level in m.f.levels: level.checkpoint = True
    return m.train()


def train_step(m: FlowClassifier, batch: int, dev):
    "A closure: one Adam step of L on random uint8 images of `batch` rows."
    s = m.cfg.image_size
    x = torch.randint(0, 256, (batch, 3, s, s), dtype=torch.uint8, device=dev)
    y = torch.arange(batch, device=dev) % m.cfg.n_classes
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    def step():
        xp = m.preprocess(x)
        if model_channels_last(m): xp = xp.contiguous(memory_format=torch.channels_last)
        loss = m(xp, y)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()
    return step


def time_steps(step, n: int, dev) -> float:
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(n): step()
    sync(dev)
    return time.perf_counter() - t0


def fits(cfg, dev, batch: int) -> bool:
    m = build(cfg, dev, "fast", True)
    try:
        train_step(m, batch, dev)()
        sync(dev)
        return True
    except torch.cuda.OutOfMemoryError if dev.type == "cuda" else MemoryError:
        return False
    finally:
        del m
        if dev.type == "cuda": torch.cuda.empty_cache()


def bpd_gap(cfg, dev, smoke: bool) -> dict:
    """Per-image bits/dim under the fast levers against float32, same weights (moved off their zero-initialised
    couplings, which would hide any difference), eval mode."""
    m = perturb_(build(cfg, dev, "plain", False), std=0.05 if smoke else 0.002).eval()
    s = cfg["image_size"]
    x = torch.randint(0, 256, (16, 3, s, s), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)).to(dev)
    d = cfg["image_size"] ** 2 * 3 * math.log(2)
    with torch.no_grad():
        ref = -m.class_log_likelihood(m.dequantise(x))[:, 0] / d
        use_levers(m, "fast", dev)
        xp = m.dequantise(x)
        if model_channels_last(m): xp = xp.contiguous(memory_format=torch.channels_last)
        fast = -m.class_log_likelihood(xp)[:, 0] / d
    gap = (fast - ref).abs().max().item()
    return dict(bpd_float32=ref.mean().item(), bpd_fast=fast.mean().item(), max_gap=gap, tolerance=BF16_BPD_TOL, ok=gap < BF16_BPD_TOL)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--smoke", action="store_true", help="a tiny model (a rehearsal of the steps, not a measurement)")
    p.add_argument("--budget", type=float, default=480.0, help="seconds for the whole run (default 480)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per measurement (default 10)")
    p.add_argument("--out", default=os.environ.get("OUT", "/tmp/flowfer_gpu_paper"))
    a = p.parse_args(argv)
    start = time.perf_counter()
    left = lambda: a.budget - (time.perf_counter() - start)
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available(): sys.exit("gpu_paper.py: no CUDA device here")
    cfg = SMOKE if a.smoke else PAPER
    report = dict(device=torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", torch=torch.__version__,
                  config=cfg, smoke=a.smoke, levers="fast + recomputation", target_img_s=TARGET_IMG_S)
    batches = [b for b in BATCHES if not a.smoke or b <= 64]
    largest = None
    for b in batches:
        if left() < 60 and largest is not None: break
        if not fits(cfg, dev, b): break
        largest = b
    report["largest_batch"] = largest
    m = build(cfg, dev, "fast", True)
    step = train_step(m, largest, dev)
    step()
    eager_s = time_steps(step, a.steps, dev)
    report["eager_img_s"] = a.steps * largest / eager_s
    if dev.type == "cuda": torch.cuda.reset_peak_memory_stats(dev)
    compiled = torch.compile(step, mode="reduce-overhead")
    t0 = time.perf_counter()
    compiled()
    compiled()
    sync(dev)
    report["compile_s"] = time.perf_counter() - t0
    if left() > 30:
        report["compiled_img_s"] = a.steps * largest / time_steps(compiled, a.steps, dev)
        report["compiled_over_eager"] = report["compiled_img_s"] / report["eager_img_s"]
    report["peak_mem_mib"] = (torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None)
    report["bpd_agreement"] = bpd_gap(cfg, dev, a.smoke)
    report["seconds"] = time.perf_counter() - start
    best = max(report.get("compiled_img_s", 0), report["eager_img_s"])
    report["meets_target"] = None if a.smoke else best >= TARGET_IMG_S
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_paper.json").write_text(json.dumps(report, indent=1) + "\n")
    for k in ("device", "largest_batch", "eager_img_s", "compile_s", "compiled_img_s", "peak_mem_mib", "seconds", "meets_target"):
        v = report.get(k)
        print(f"{k:>16}: {v:.1f}" if isinstance(v, float) else f"{k:>16}: {v}")
    print(f"{'bits/dim':>16}: float32 {report['bpd_agreement']['bpd_float32']:.4f}, fast {report['bpd_agreement']['bpd_fast']:.4f}, "
          f"largest gap {report['bpd_agreement']['max_gap']:.2e} (tolerance {BF16_BPD_TOL})")
    return 0 if report["bpd_agreement"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

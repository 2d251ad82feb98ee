"""A/B of one training step: our Glow classifier against rosinality/glow-pytorch's Glow, interleaved, fresh processes.

    python scripts/ab_glow.py --theirs PATH/TO/glow-pytorch/model.py --rounds 5 --steps 3 --json-out FILE.json

Their code is never committed: pass the path of their `model.py` (a clone of rosinality/glow-pytorch). Each round runs
every arm once in a fresh process, in an order rotated from round to round, so that a slow spell of a shared machine
hits every arm alike; each arm's images/s is divided by rosinality's of the same round, and the report gives the
median ratio over rounds. A step is what each project's training does: ours `model.loss(x, y)` (f, and h over every
class) with `make_adam` (fused on the fast path) after `use_levers`; theirs the bits/dim loss of their train.py with
`torch.optim.Adam`. Run from the repository root."""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

ARMS = ("rosinality", "ours-plain", "ours-fast")
LR = 1e-4  # both projects' default; it does not change the cost of a step


def _images(batch: int, size: int, n_bits: int, seed: int):
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2 ** n_bits, (batch, 3, size, size), generator=g, dtype=torch.uint8) << (8 - n_bits)


def _their_step(model_py: Path, a) -> tuple:
    "(model, step) for rosinality's Glow, with the loss of their train.py (bits/dim of dequantised images)."
    import torch
    spec = importlib.util.spec_from_file_location("rosinality_glow_model", model_py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Glow(3, a.n_flows, a.n_blocks, affine=True, conv_lu=True)
    n_bins, n_pixel = 2.0 ** a.n_bits, 3 * a.img_size ** 2
    x = _images(a.batch, a.img_size, a.n_bits, a.seed)
    image = torch.floor(x.float() / 2 ** (8 - a.n_bits)) / n_bins - 0.5
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    with torch.no_grad(): model(image + torch.rand_like(image) / n_bins)  # their ActNorm initialises on first use

    def step():
        log_p, logdet, _ = model(image + torch.rand_like(image) / n_bins)
        loss = -(log_p + logdet.mean() - math.log(n_bins) * n_pixel) / (math.log(2) * n_pixel)
        opt.zero_grad(set_to_none=True)
        loss.mean().backward()
        opt.step()
    return model, step


def _our_step(levers: str, a) -> tuple:
    "(model, step) for our FlowClassifier at the same size, as `fit` builds it for the lever set `levers`."
    import torch
    from flowfer_nb.bench import bench_config
    from flowfer_nb.classifier import FlowClassifier
    from flowfer_nb.train import make_adam, use_levers, uses_bf16
    cfg = bench_config(a.img_size, a.n_blocks, a.n_flows, a.hidden)
    model = FlowClassifier(cfg)
    x = _images(a.batch, a.img_size, cfg.n_bits, a.seed)
    y = torch.randint(0, cfg.n_classes, (a.batch,), generator=torch.Generator().manual_seed(a.seed))
    model.initialize(x)
    use_levers(model, levers, "cpu")
    opt = make_adam(model.parameters(), LR, fused=uses_bf16(levers, "cpu"))
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(x, y)["loss"].backward()
        opt.step()
    return model, step


def run_arm(a) -> dict:
    "Time `a.steps` steps of one arm after `a.warmup` -> {arm, img_s, seconds}."
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    _, step = _their_step(Path(a.theirs), a) if a.arm == "rosinality" else _our_step(a.arm.split("-")[1], a)
    for _ in range(a.warmup): step()
    t0 = time.perf_counter()
    for _ in range(a.steps): step()
    s = time.perf_counter() - t0
    return dict(arm=a.arm, img_s=a.batch * a.steps / s, seconds=s)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--theirs", required=True, help="path of rosinality/glow-pytorch's model.py")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--n-blocks", type=int, default=4)
    p.add_argument("--n-flows", type=int, default=8)
    p.add_argument("--hidden", type=int, default=512, help="ours; theirs is fixed at 512 (AffineCoupling's default)")
    p.add_argument("--n-bits", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=1800, help="seconds for one arm's process")
    p.add_argument("--json-out", help="write the rounds and the summary here")
    p.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # internal: time one arm in this process
    a = p.parse_args(argv)
    if not Path(a.theirs).is_file(): p.error(f"--theirs {a.theirs}: no such file (rosinality/glow-pytorch's model.py)")
    if a.arm:
        print(json.dumps(run_arm(a)))
        return 0
    passed = list(argv if argv is not None else sys.argv[1:])
    rounds = []
    for r in range(a.rounds):
        order = ARMS[r % len(ARMS):] + ARMS[:r % len(ARMS)]
        got = {}
        for arm in order:
            res = subprocess.run([sys.executable, __file__, *passed, "--arm", arm], capture_output=True, text=True,
                                 timeout=a.timeout)
            if res.returncode: raise SystemExit(f"ab_glow: arm {arm} failed:\n{res.stderr[-2000:]}")
            got[arm] = json.loads(res.stdout.strip().splitlines()[-1])["img_s"]
        rounds.append(got)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.2f} img/s" for k, v in got.items()), flush=True)
    summary = {arm: dict(img_s=[rd[arm] for rd in rounds],
                         ratio=[rd[arm] / rd["rosinality"] for rd in rounds]) for arm in ARMS}
    for arm, s in summary.items(): s["median_ratio"] = statistics.median(s["ratio"])
    for arm, s in summary.items(): print(f"{arm:<11} median ratio to rosinality {s['median_ratio']:.2f}")
    if a.json_out:
        settings = {k: v for k, v in vars(a).items() if k not in ("arm", "json_out", "theirs")}
        Path(a.json_out).write_text(json.dumps(dict(settings=settings, rounds=rounds, summary=summary), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

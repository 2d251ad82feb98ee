"""Measure each lever of flowfer-bench against the plain variant, interleaved, in fresh processes.

    python scripts/bench_levers.py --config quick --arms "plain;cache;bf16;cache,bf16" --rounds 5 --out FILE.json

Each round runs every arm once, in an order rotated from round to round, so that a slow spell of a shared
machine hits every arm alike; each arm's speed is divided by the plain run of the same round, and the
report gives, per arm, the median ratio over rounds and its range. Run from the repository root."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CONFIGS = {"quick": ["--img-size", "32", "--n-blocks", "3", "--n-flows", "4", "--hidden", "64"],
           "paper": ["--img-size", "64", "--n-blocks", "4", "--n-flows", "32", "--hidden", "512"]}
PATHS = ("train_img_s", "classify_img_s", "forward_img_s")


def run_arm(config: str, levers: str, batch: int, steps: int, warmup: int, timeout: int) -> dict:
    "One fresh flowfer-bench process with the plain model plus `levers` ('' for none) -> its JSON."
    cmd = [sys.executable, "-m", "flowfer_nb.bench", *CONFIGS[config], "--batch", str(batch), "--steps", str(steps),
           "--warmup", str(warmup), "--levers", levers, "--no-flops", "--json"]
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}  # only the malloc lever sets it
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if res.returncode: raise SystemExit(f"bench_levers: {' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=sorted(CONFIGS), default="quick")
    p.add_argument("--arms", default="plain", help="';'-separated lever sets, 'plain' for none (the first must be plain)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--timeout", type=int, default=1800, help="seconds allowed to one process")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    arms = [s.strip() for s in a.arms.split(";")]
    if arms[0] != "plain": raise SystemExit("bench_levers: the first arm must be plain")
    rounds = []
    for r in range(a.rounds):
        order = arms[r % len(arms):] + arms[:r % len(arms)]
        got = {}
        for arm in order:
            t0 = time.time()
            got[arm] = run_arm(a.config, "" if arm == "plain" else arm, a.batch, a.steps, a.warmup, a.timeout)
            print(f"round {r} {arm:40s} " + "  ".join(f"{k[:-6]} {got[arm][k]:8.2f}" for k in PATHS)
                  + f"  peak {got[arm]['peak_mem_mib']:7.0f} MiB  ({time.time() - t0:.0f} s)", flush=True)
        rounds.append(got)
    summary = {}
    for arm in arms:
        s = {}
        for k in PATHS:
            ratios = [rd[arm][k] / rd["plain"][k] for rd in rounds]
            s[k] = dict(median=statistics.median(rd[arm][k] for rd in rounds), ratio_median=statistics.median(ratios),
                        ratio_min=min(ratios), ratio_max=max(ratios))
        s["classify_over_forward"] = statistics.median(rd[arm]["classify_over_forward"] for rd in rounds)
        s["peak_mem_mib"] = statistics.median(rd[arm]["peak_mem_mib"] for rd in rounds)
        summary[arm] = s
    print(f"\n{a.config}, batch {a.batch}, {a.rounds} rounds, threads {rounds[0]['plain']['threads']}: median img/s, x plain (min-max)")
    for arm, s in summary.items():
        print(f"{arm:40s} " + "  ".join(f"{k[:-6]} {s[k]['median']:8.2f} x{s[k]['ratio_median']:.2f} ({s[k]['ratio_min']:.2f}-{s[k]['ratio_max']:.2f})"
                                        for k in PATHS) + f"  cls/f {s['classify_over_forward']:.2f}  peak {s['peak_mem_mib']:.0f} MiB")
    with open(a.out, "w") as fh:
        json.dump(dict(config=a.config, batch=a.batch, steps=a.steps, warmup=a.warmup, rounds=a.rounds, arms=arms,
                       summary=summary, runs=rounds, command=" ".join([os.path.basename(sys.executable), *sys.argv])), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

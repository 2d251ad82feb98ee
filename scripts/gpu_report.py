"""Collect the logs of scripts/gpu_check.sh into one table (printed) and one JSON file.

    python scripts/gpu_report.py LOG_DIR OUT_JSON

LOG_DIR holds tests.json (from gpu_tests.py), bench_<name>.log (flowfer-bench --json: the last line is JSON)
and status.tsv (name, exit status, seconds of each step)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def last_json(path: Path) -> dict | None:
    "The JSON object on the last line of a log, or None if the step did not finish."
    try: lines = path.read_text().strip().splitlines()
    except OSError: return None
    try: return json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError: return None


def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main(log_dir: str, out_json: str) -> int:
    d = Path(log_dir)
    status = [line.split("\t") for line in (d / "status.tsv").read_text().splitlines() if line] if (d / "status.tsv").exists() else []
    tests = json.loads((d / "tests.json").read_text()) if (d / "tests.json").exists() else None
    runs = {name: last_json(d / f"bench_{name}.log") for name, *_ in status if name.startswith(("paper", "quick"))}
    print(f"\n== steps ({d})")
    for name, rc, secs in status: print(f"{name:28s} exit {rc:>4s}  {float(secs):7.1f} s")
    if tests:
        print(f"\n== flow tests on {tests['device_name']} (torch {tests['torch']}): {tests['passed']} passed, {tests['failed']} failed")
        for c in tests["checks"]: print(f"{'PASS' if c['ok'] else 'FAIL'}  {c['check']}" + (f"  {c['error']}" if c["error"] else ""))
    head = f"{'run':22s} {'batch':>5s} {'levers':44s} {'train img/s':>11s} {'classify':>10s} {'f only':>10s} {'cls/f':>6s} {'peak MiB':>9s} {'first step s':>12s}"
    print("\n== flowfer-bench\n" + head)
    rcs = {name: rc for name, rc, _ in status}
    for name, r in runs.items():
        if r is None:
            print(f"{name:22s} " + ("(skipped: no time left)" if rcs[name] == "skip" else f"(did not finish, exit {rcs[name]}: see bench_{name}.log)"))
            continue
        print(f"{name:22s} {r['batch']:5d} {','.join(r['levers']) or 'none':44s} {fmt(r['train_img_s'], '11.1f')} "
              f"{fmt(r['classify_img_s'], '10.1f')} {fmt(r['forward_img_s'], '10.1f')} {fmt(r['classify_over_forward'], '6.2f')} "
              f"{fmt(r['peak_mem_mib'], '9.0f')} {fmt(r['warmup_s']['train'][0] if r['warmup_s']['train'] else None, '12.1f')}")
    ratios = {}
    for cfg in ("paper_b32", "quick_b32"):
        plain, fast = runs.get(f"{cfg}_plain"), runs.get(f"{cfg}_fast")
        if plain and fast: ratios[f"{cfg}_train_fast_over_plain"] = fast["train_img_s"] / plain["train_img_s"]
    for k, v in ratios.items(): print(f"{k}: {v:.2f}x")
    Path(out_json).write_text(json.dumps(dict(status=status, tests=tests, runs=runs, ratios=ratios), indent=1))
    print(f"\nwrote {out_json}")
    return 0 if tests and not tests["failed"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""Apply chapter 23's adoption rule to the grid's variants tables of the decision sets and write the decision.

    python scripts/adopt_variant.py synthetic=RUN_A/results/variants.csv ckplus48=RUN_B/results/variants.csv \
        [--write flowfer_nb/records/adopted.json] [--revision REV]

Every decision set of `adoption.ADOPTION` must be given. Without --write the decision is only printed. The record
holds the variant (or null), the rule, and per data set the adopted row's gain, interval and bits/dim change.
"""
from __future__ import annotations
import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from flowfer_nb.core import FlowferError, write_json
from flowfer_nb.adoption import ADOPTION, adopt, passes


def read_table(path: Path) -> pd.DataFrame:
    "A variants.csv as `adopt` takes it: one row per model, missing cells as None."
    try: t = pd.read_csv(path, na_values=["n/a"], keep_default_na=False)
    except (OSError, ValueError) as e: raise FlowferError(f"{path}: not a readable variants table ({e})") from None
    need = {"variant", "model", "transductive", "diff", "diff_low", "diff_high", "bpd_change", "subjects"}
    if not need <= set(t.columns): raise FlowferError(f"{path}: not a variants table (missing columns {sorted(need - set(t.columns))})")
    t["transductive"] = t["transductive"].astype(str).str.lower() == "true"
    return t.astype(object).where(t.notna(), None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tables", nargs="+", help="NAME=PATH of a variants.csv, one per decision set")
    p.add_argument("--write", type=Path, help="write the decision record to this JSON file")
    p.add_argument("--revision", default=None, help="the git revision the grids ran at (recorded)")
    a = p.parse_args(argv)
    try:
        tables = {}
        for item in a.tables:
            name, sep, path = item.partition("=")
            if not sep: raise FlowferError(f"{item!r}: expected NAME=PATH")
            tables[name] = read_table(Path(path))
        winner = adopt(tables)
    except FlowferError as e:
        print(f"adopt_variant: {e}", file=sys.stderr)
        return 2
    per_set = {}
    for name, t in tables.items():
        rows = t.loc[t["model"] == "flow"].to_dict("records")
        per_set[name] = {r["variant"]: dict(gain=r["diff"], low=r["diff_low"], high=r["diff_high"],
                                            bpd_change=r["bpd_change"], subjects=r["subjects"], passes=passes(r))
                         for r in rows if r["variant"] != "paper" and not r["transductive"]}
    why = (f"{winner} passes the rule on every decision set with the largest smallest gain" if winner else
           "no variant passes the rule on every decision set")
    record = dict(variant=winner, why=why, rule={k: list(v) if isinstance(v, tuple) else v for k, v in ADOPTION.items()},
                  revision=a.revision, evidence=per_set)
    text = json.dumps(record, indent=1, allow_nan=False, default=lambda x: None if isinstance(x, float) and math.isnan(x) else x)
    print(text)
    if a.write: write_json(a.write, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())

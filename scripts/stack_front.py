"""Stack one-seed screens of the beta front (scripts/screen_beta.py) into the 3-seed front and apply chapter 23's rule.

Each `--set NAME=DIR[,DIR...]` names a data set and the `--out` folders of `screen_beta.py`, one per seed, all with the
same folds. For every model run on every seed the accuracies per subject become a seeds x subjects table and its row
comes from `front_row`: the mean with a two-way bootstrap interval (seeds and subjects resampled independently) and the
paired differences to the paper's method, the CNN and `all-class-last` with theirs. Writes per set `NAME/front.csv|md`
and `NAME/per_seed.csv` (each model's per-subject mean per seed), the figure `NAME/front.png|pdf`, and, over all sets,
`decision.json` with what `adopt_beta` (chapter 23's `BETA_RULE`) says: a variant or none, and why.

    python scripts/stack_front.py --set synthetic=S0,S1,S2 --set ckplus48=C0,C1,C2 --out OUT --figures FIG

A folder may be `DIR+DIR...`: screens of the same seed, data and folds run separately (the front without h, then
the h variants) read as one; a model in both must have the same per-subject accuracies (it came from the same store).
The adopted variant (`records/adopted.json`) is a reference beside the three above where it was run, and chapter 23's
`H_RULE` and `AVG_RULE` say whether the variant with h or with the power average replaces it.

A seed of the synthetic set is a replicate of everything (the generated people, the folds, the weights): its
subjects share names, not faces, across seeds. On a real set the same subjects recur and only folds and weights move.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from flowfer_nb.core import FlowferError, provenance, write_json
from flowfer_nb.report import save_figure
from flowfer_nb.adoption import AVG_RULE, BETA_RULE, H_RULE, adopt_beta, front_row, plot_beta_front, replaces
from flowfer_nb.variants import adopted_variant

REFS = ("paper", "cnn", "all-class-last", adopted_variant())
LINES = ("cnn", "LDA on pixel PCA", "pixel LR")


def read_seed(folder: Path) -> tuple[int, pd.DataFrame, pd.DataFrame, dict]:
    "(seed, per-subject accuracies: subjects x models, front table indexed by variant, screen.json) of one screen."
    for f in ("per_subject.csv", "front.csv", "screen.json"):
        if not (folder / f).is_file():
            raise FlowferError(f"{folder}: no {f} (is it an --out folder of scripts/screen_beta.py?)")
    meta = json.loads((folder / "screen.json").read_text())
    # subject ids stay text: JAFFE has a subject called NA, which pandas would read as missing
    acc = pd.read_csv(folder / "per_subject.csv", index_col=0, keep_default_na=False, na_values=[""])
    acc.index = acc.index.astype(str)
    return int(meta["seed"]), acc, pd.read_csv(folder / "front.csv").set_index("variant"), meta


def read_merged(spec: Path) -> tuple[int, pd.DataFrame, pd.DataFrame, dict]:
    "read_seed of `DIR` or of `DIR+DIR...` (screens of one seed, data and folds, read as one)."
    parts = [read_seed(Path(d)) for d in str(spec).split("+")]
    seed, acc, front, meta = parts[0]
    for s, a, f, m in parts[1:]:
        if (s, m["data_sha256"], m["folds"]) != (seed, meta["data_sha256"], meta["folds"]):
            raise FlowferError(f"{spec}: the screens differ in seed, data or folds")
        if not a.index.equals(acc.index): raise FlowferError(f"{spec}: the screens tested different subjects")
        for m_ in set(a.columns) & set(acc.columns):
            if not np.allclose(a[m_], acc[m_], rtol=0, atol=1e-9):
                raise FlowferError(f"{spec}: {m_} differs between the screens (not the same stored folds)")
        acc = acc.join(a[[c for c in a.columns if c not in acc.columns]])
        front = pd.concat([front, f.loc[[v for v in f.index if v not in front.index]]])
    return seed, acc, front, meta


def stack(folders: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    "(front table over the seeds, per-seed means: seeds x models, lines {reference: mean accuracy}) for one data set."
    runs = [read_merged(f) for f in folders]
    seeds = [r[0] for r in runs]
    if len(set(seeds)) != len(seeds): raise FlowferError(f"the same seed twice among {[str(f) for f in folders]}")
    folds = {tuple(r[3]["folds"]) for r in runs}
    if len(folds) != 1: raise FlowferError(f"the screens ran different folds: {sorted(folds)}")
    models = [m for m in runs[0][1].columns if all(m in r[1].columns for r in runs)]
    subjects = sorted(set.intersection(*(set(r[1].index) for r in runs)))
    acc = {m: pd.DataFrame([r[1].loc[subjects, m].to_numpy() for r in runs], index=seeds, columns=subjects)
           for m in models}
    refs = {k: acc[k] for k in REFS if k and k in acc}
    rows = []
    for m in models:
        fronts = [r[2].loc[m] for r in runs]
        bpd = [float(f["test_bpd"]) for f in fronts if pd.notna(f["test_bpd"])]
        beta = fronts[0]["beta"] if pd.notna(fronts[0]["beta"]) else None
        rows.append(front_row(m, acc[m], refs, beta=beta, ema=bool(fronts[0]["ema"]),
                              bpd=float(np.mean(bpd)) if bpd else None))
    per_seed = pd.DataFrame({m: acc[m].mean(axis=1) for m in models})
    per_seed.index.name = "seed"
    return pd.DataFrame(rows), per_seed, {k: float(acc[k].to_numpy().mean()) for k in LINES if k in acc}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", action="append", required=True, metavar="NAME=DIR[,DIR...]")
    p.add_argument("--out", required=True)
    p.add_argument("--figures", required=True)
    a = p.parse_args(argv)
    tables, summary = {}, {}
    for spec in a.set:
        name, _, dirs = spec.partition("=")
        if not name or not dirs: raise FlowferError(f"--set {spec!r}: expected NAME=DIR[,DIR...]")
        folders = [Path(d) for d in dirs.split(",")]
        table, per_seed, lines = stack(folders)
        tables[name] = table
        out, figs = Path(a.out) / name, Path(a.figures) / name
        out.mkdir(parents=True, exist_ok=True)
        figs.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "front.csv", index=False, float_format="%.4g")
        per_seed.to_csv(out / "per_seed.csv", float_format="%.2f")
        n_seeds, n_subj = int(table["seeds"].iloc[0]), int(table["subjects"].iloc[0])
        with open(out / "front.md", "w") as f:
            f.write(f"The beta front on {name}: {n_seeds} seeds ({', '.join(map(str, per_seed.index))}) x {n_subj} "
                    f"subjects, subject 5-fold. Accuracy per subject (%); 95% two-way percentile bootstrap over seeds "
                    f"and subjects; diff_*: paired per-subject differences.\n\n")
            f.write(table.to_markdown(index=False, floatfmt=".2f"))
            f.write("\n\nPer seed (mean over subjects):\n\n")
            f.write(per_seed.to_markdown(floatfmt=".1f"))
            f.write("\n")
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(4.6, 3.4), constrained_layout=True)
        plot_beta_front(ax, table, lines, f"beta front, {name}: {n_seeds} seeds x {n_subj} subjects")
        save_figure(fig, "front", figs)   # front.png and front.pdf, atomically
        plt.close(fig)
        summary[name] = dict(folders=[str(f) for f in folders], seeds=list(map(int, per_seed.index)),
                             subjects=n_subj)
        print(f"== {name}\n" + table[["variant", "accuracy", "acc_low", "acc_high", "seeds", "subjects",
                                      "diff_cnn", "diff_cnn_low", "diff_cnn_high"]].to_string(index=False))
    chosen, why = adopt_beta(tables)
    decision = dict(rule=BETA_RULE, adopted=chosen, reason=why, sets=summary)
    for key, rule in (("h", H_RULE), ("average", AVG_RULE)):   # chapter 23's rules for h and for the power average
        if any(rule["candidate"] in set(t["variant"]) for t in tables.values()):
            chosen_, why_ = replaces(tables, rule)
            decision[key] = dict(rule=rule, adopted=chosen_, reason=why_)
            print(f"{key} rule: {chosen_} -- {why_}")
    write_json(Path(a.out) / "decision.json", {**decision, "provenance": provenance()})
    print(f"rule: {chosen} -- {why}")


if __name__ == "__main__":
    try:
        main()
    except FlowferError as e:
        sys.exit(f"stack_front: {e}")

"""Stack chapter 26's person protocols over seeds: a row per protocol and model, intervals over seeds and subjects.

Each FOLDER is a `results_dir` of `nbs/26_person.ipynb` run with one seed (its `person_per_subject.csv`). For every
(protocol, model) scored on every seed, the per-subject accuracies form a seeds x subjects table; its row gives the
mean with chapter 23's two-way bootstrap (seeds and subjects resampled independently, `front_row`) and
the paired per-subject differences, with theirs, to the same model without a person reference (`vs_raw`) and to the
CNN under the same protocol (`vs_cnn`): a model is compared only within a protocol. Writes `person_seeds.csv|md|tex`
and `person_seeds_per_seed.csv` (each row's mean per seed) into `--out`, the figure
`person_seeds.png|pdf` into `--figures`.

    python scripts/stack_person.py --out results/person/seeds RUN0/results RUN1/results RUN2/results

A seed of the synthetic set is a replicate of everything (the generated people, the folds, the weights): its
subjects share names, not faces, across seeds; the bootstrap pairs them by name within a seed only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from flowfer_nb.core import FlowferError, provenance, write_json
from flowfer_nb.adoption import front_row
from flowfer_nb.protocols import MODEL_NAMES
from flowfer_nb.person import plot_person
from flowfer_nb.report import PAPER_WIDTH_IN, paper_style, save_figure, write_table

REFERENCE = MODEL_NAMES.get("cnn", "CNN")


def read_seed(folder: Path) -> tuple[int, pd.DataFrame]:
    "(seed, per-subject accuracies: rows seed, protocol, model, subject, per_subject) of one person run."
    f = folder / "person_per_subject.csv"
    if not f.is_file(): raise FlowferError(f"{folder}: no person_per_subject.csv (is it a results_dir of chapter 26?)")
    # subject ids stay text: JAFFE has a subject called NA, which pandas would read as missing
    acc = pd.read_csv(f, keep_default_na=False, na_values=[""], dtype={"subject": str})
    missing = {"seed", "protocol", "model", "subject", "per_subject"} - set(acc.columns)
    if missing: raise FlowferError(f"{f}: no column {sorted(missing)}")
    if acc["seed"].nunique() != 1: raise FlowferError(f"{f}: more than one seed")
    return int(acc["seed"].iloc[0]), acc


def stack(folders: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    "(one row per protocol and model over the seeds, per-seed means: rows x seeds)."
    runs = [read_seed(f) for f in folders]
    seeds = [r[0] for r in runs]
    if len(set(seeds)) != len(seeds): raise FlowferError(f"the same seed twice among {[str(f) for f in folders]}")
    tables = {}
    for seed, acc in runs:
        for key, g in acc.groupby(["protocol", "model"], sort=False):
            tables.setdefault(key, {})[seed] = g.set_index("subject")["per_subject"]
    keys = [k for k in tables if len(tables[k]) == len(seeds)]
    subjects = sorted(set.intersection(*(set(s.index) for k in keys for s in tables[k].values())))

    def grid(key) -> pd.DataFrame:
        return pd.DataFrame([tables[key][s].loc[subjects].to_numpy() for s in seeds], index=seeds, columns=subjects)

    rows = []
    for protocol, model in keys:   # chapter 23's front_row: the mean and the paired differences, two-way bootstrap
        refs = {name: grid(other) for name, other in (("raw", ("raw", model)), ("cnn", (protocol, REFERENCE)))
                if other != (protocol, model) and other in keys}
        r = front_row(model, grid((protocol, model)), refs)
        row = dict(protocol=protocol, model=model, seeds=r["seeds"], subjects=r["subjects"], per_subject=r["accuracy"],
                   low=r["acc_low"], high=r["acc_high"])
        for name in ("raw", "cnn"):
            row.update({f"vs_{name}{x}": r.get(f"diff_{name}{x}") for x in ("", "_low", "_high")})
        rows.append(row)
    per_seed = pd.DataFrame({f"{p} / {m}": grid((p, m)).mean(axis=1) for p, m in keys}).T
    per_seed.columns = [f"seed {s}" for s in seeds]
    return pd.DataFrame(rows), per_seed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="results_dir of chapter 26, one per seed")
    p.add_argument("--out", required=True)
    p.add_argument("--figures", default=None, help="where person_seeds.png|pdf goes (default: --out)")
    a = p.parse_args(argv)
    folders = [Path(f) for f in a.folders]
    table, per_seed = stack(folders)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    n_seeds, n_subj = int(table["seeds"].iloc[0]), int(table["subjects"].iloc[0])
    shown = table.astype(object).where(table.notna(), "n/a")
    write_table(shown, "person_seeds", out,
                caption=f"The person protocols over {n_seeds} seeds x {n_subj} subjects (subject 5-fold): accuracy per "
                        f"subject (%) with a 95% two-way bootstrap over seeds and subjects, and the paired per-subject "
                        f"differences (points) to the same model without a person reference (raw) and to the CNN "
                        f"under the same protocol.")
    per_seed.to_csv(out / "person_seeds_per_seed.csv", float_format="%.2f")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with paper_style():
        fig, ax = plt.subplots(figsize=(PAPER_WIDTH_IN, 0.55 * PAPER_WIDTH_IN))
        plot_person(ax, table)
        ax.set_ylabel(f"accuracy per subject (%), {n_seeds} seeds")
        save_figure(fig, "person_seeds", Path(a.figures or out))
        plt.close(fig)
    seeds = [int(c.removeprefix("seed ")) for c in per_seed.columns]
    write_json(out / "person_seeds.json", dict(folders=[str(f) for f in folders], seeds=seeds, subjects=n_subj,
                                               provenance=provenance()))
    print(table[["protocol", "model", "per_subject", "low", "high", "vs_cnn", "vs_cnn_low", "vs_cnn_high"]]
          .to_string(index=False, float_format="%.1f"))


if __name__ == "__main__":
    try:
        main()
    except FlowferError as e:
        sys.exit(f"stack_person: {e}")

"""The mean of the posteriors of several seeds (`train.mean_posterior`) against the single runs, from a fold store.

Issue 24's third lever, on a data set whose images stay the same across seeds (a real set: the synthetic set is
generated anew for each seed, so its images differ). For each model, the subject 5-fold folds of every seed are read
from the store that `scripts/screen_beta.py` filled (nothing is trained): the stored posterior of each test image, or
for `shared-b<beta>` (the row without the weight average) the posterior of the `-ema` folds' last.pt. Per subject:
the single runs' accuracy (seeds x subjects, two-way bootstrap), the ensemble's (the argmax of the mean posterior of
the seeds), and the paired difference, ensemble minus the mean of the single runs.

    python scripts/seed_ensemble.py --store WORK/folds --data FILE.npz --models paper,cnn,shared-b8 [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from flowfer_nb.adoption import per_subject_accuracy, seed_subject_interval
from flowfer_nb.core import FlowferError, configure_threads
from flowfer_nb.data import PAPER_CLASSES, load_prepared
from flowfer_nb.stats import paired_bootstrap
from flowfer_nb.store import protocol_plan
from flowfer_nb.train import mean_posterior
from screen_beta import last_weights_outputs   # the script beside this one: a fold's last.pt, evaluated

PROTOCOL = "subject"


def fold_folders(store: Path, name: str) -> dict:
    """{(seed, fold): the newest folder} of model `name`'s subject folds in `store` (a fold may have been trained twice,
    under two fingerprints; the runs' weights are the same where only the fingerprint changed)."""
    found = {}
    for folder in sorted(store.glob(f"{name}-{PROTOCOL}-*"), key=lambda p: p.stat().st_mtime):
        meta = json.loads((folder / "fold.json").read_text())
        if meta["name"] != name or meta["protocol"] != PROTOCOL: continue
        cfg = meta["config"]
        seed = cfg["train"]["seed"] if "train" in cfg else cfg["seed"]
        found[(int(seed), int(meta["fold"]))] = (folder, int(meta["split_seed"]))
    return found


def posteriors(store: Path, name: str, ds, profile: str = "quick") -> dict:
    "{seed: (N, c) out-of-fold posterior of model `name`, every image tested once}."
    plain = name.startswith("shared-") and not name.endswith("-ema")
    folders = fold_folders(store, name + "-ema" if plain else name)
    if not folders: raise FlowferError(f"{store}: no {PROTOCOL} folds of {name}")
    out = {}
    for seed in sorted({s for s, _ in folders}):
        post = np.full((len(ds), len(ds.classes)), np.nan)
        for (s, k), (folder, split_seed) in folders.items():
            if s != seed: continue
            test_idx = protocol_plan(ds, PROTOCOL, profile, split_seed)[0][k][1]   # the fold's test rows, redrawn
            if plain: post[test_idx] = last_weights_outputs(folder, ds, test_idx)["posterior"]
            else:
                kind = "latents.npz" if (folder / "latents.npz").is_file() else "result.npz"   # a flow's or a CNN's
                with np.load(folder / kind, allow_pickle=False) as z:
                    post[test_idx] = z["posterior"] if "posterior" in z.files else z["probs"]
        if np.isnan(post).any():
            print(f"{name} seed {seed}: not every image was tested (a fold is missing); seed left out", file=sys.stderr)
            continue
        out[seed] = post
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, help="the fold store (WORK/folds of screen_beta.py)")
    p.add_argument("--data", required=True, help="the prepared .npz the folds were trained on")
    p.add_argument("--models", default="paper,cnn,shared-b8", help="comma-separated model names")
    p.add_argument("--out", help="folder for ensemble.csv (leave out for a real set you may not publish)")
    a = p.parse_args(argv)
    configure_threads()
    ds = load_prepared(a.data).subset_classes(PAPER_CLASSES)
    rows = []
    for name in a.models.split(","):
        post = posteriors(Path(a.store), name, ds)
        seeds = sorted(post)
        single = pd.DataFrame([per_subject_accuracy(post[s].argmax(1), ds.labels, ds.subjects) for s in seeds],
                              index=seeds)
        ens = per_subject_accuracy(mean_posterior([post[s] for s in seeds]).argmax(1), ds.labels, ds.subjects)
        one, both = seed_subject_interval(single.to_numpy()), seed_subject_interval(ens.to_numpy()[None])
        gain = paired_bootstrap((ens - single.mean(axis=0)).to_numpy(), 0.95, seed=0)
        rows.append(dict(model=name, seeds=len(seeds), subjects=single.shape[1], single=one["mean"],
                         single_low=one["low"], single_high=one["high"], ensemble=both["mean"],
                         ensemble_low=both["low"], ensemble_high=both["high"], gain=gain["mean"], gain_low=gain["low"],
                         gain_high=gain["high"]))
        print(f"{name}: {len(seeds)} seeds, single {one['mean']:.1f} [{one['low']:.1f}, {one['high']:.1f}], "
              f"ensemble {both['mean']:.1f} [{both['low']:.1f}, {both['high']:.1f}], gain {gain['mean']:+.1f} "
              f"[{gain['low']:+.1f}, {gain['high']:+.1f}]", flush=True)
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(Path(a.out) / "ensemble.csv", index=False, float_format="%.4g")
    return 0


if __name__ == "__main__":
    sys.exit(main())

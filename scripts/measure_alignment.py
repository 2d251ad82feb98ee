"""Measure face alignment by the eyes (issue 25) on the real sets in ../shared (outputs never in the repository).

ADOPTION RULE, committed 2026-12-07 13:56 UTC (36d4174), before any accuracy of an aligned preparation was seen:

- Three preparations of each real set: `none` (today's crop), `eyes` (--align eyes), `eyes+clahe`
  (--align eyes --photometric clahe; CLAHE is the one photometric variant chosen in advance).
- Protocol: subject 5-fold (seed 0), accuracy per test subject; paired differences per subject with the
  BCa bootstrap interval of `stats.paired_bootstrap` (95%).
- `--align eyes` becomes flowfer-prepare's default for real layouts if, for the paper's flow (the `quick`
  config of flowfer-train), (a) on CK+48 the mean per-subject difference eyes - none is > 0 with its
  95% paired interval excluding 0, and (b) on JAFFE the mean per-subject difference eyes - none is not
  below -2.0 points.
- `--photometric clahe` is adopted on top only if the same rule holds for eyes+clahe - eyes.
- If the flow cannot be run for the preparations on both sets before 15:25 UTC (CPU only, half a core),
  nothing is adopted: the default stays `none`, and the cheap models (pixel LR, LDA on pixel PCA, CNN)
  are reported as evidence only. Eye-detection rates and eye spreads are reported in every case.

Usage (FLOWFER_THREADS=1 OMP_NUM_THREADS=1; outputs go to --work, outside the repository, default /tmp/flowfer_align):
    python scripts/measure_alignment.py prepare          # 2 sets x 3 preparations, detection rates, eye spreads
    python scripts/measure_alignment.py cheap            # pixel LR, LDA on pixel PCA
    python scripts/measure_alignment.py cnn [--sets jaffe] [--preps none eyes]
    python scripts/measure_alignment.py flow [--sets jaffe] [--folds 0] [--preps none eyes] [--variant adopted]
    python scripts/measure_alignment.py table            # per-subject accuracy and paired intervals, Markdown
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PREPS = {"none": dict(align="none", photometric="none"), "eyes": dict(align="eyes", photometric="none"),
         "eyes+clahe": dict(align="eyes", photometric="clahe")}
SETS = {"ckplus48": ("ckplus48/manifest_full.csv", "none"), "jaffe": ("jaffe/manifest.csv", "haar")}
PAIRS = (("eyes", "none"), ("eyes+clahe", "none"), ("eyes+clahe", "eyes"))
SEED, FOLDS = 0, 5


def _real() -> Path:
    from flowfer_nb.data import shared_real_dir
    real = shared_real_dir()
    if real is None: sys.exit("shared/data/real not found")
    return real


def _prepared(work: Path, name: str, prep: str):
    from flowfer_nb.data import load_prepared
    return load_prepared(work / f"{name}-{prep}.npz")


def eye_spread(images: np.ndarray) -> dict:
    """Eyes re-detected (the same cascades and checks) in each prepared 64 px image: share found, and the standard
    deviation (px) of each eye's x and y over the images where found."""
    import cv2
    from flowfer_nb.faces import eye_candidates, pick_eyes
    pts = []
    for im in images:
        pair, _ = pick_eyes(eye_candidates(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)))
        if pair is not None: pts.append(np.array(pair) * im.shape[0])
    pts = np.array(pts)
    if not len(pts): return dict(redetected=0, n=len(images))
    return dict(redetected=len(pts), n=len(images), sd_px=np.round(pts.std(0), 2).tolist(),
                mean_px=np.round(pts.mean(0), 2).tolist(),
                sd_interocular_px=round(float(np.linalg.norm(pts[:, 1] - pts[:, 0], axis=1).std()), 2))


def cmd_prepare(work: Path, sets) -> None:
    from flowfer_nb.data import save_prepared
    from flowfer_nb.readers import prepare
    real, out = _real(), {}
    for name in sets:
        rel, face_crop = SETS[name]
        for prep, opts in PREPS.items():
            t = time.time()
            data, rep = prepare(real / rel, face_crop=face_crop, **opts)
            save_prepared(data, work / f"{name}-{prep}.npz", rep)
            eyes = {k: v for k, v in rep["eye_alignment"].items() if k != "fallback_files"}
            out[f"{name}/{prep}"] = dict(n=len(data), subjects=len(np.unique(data.subjects)), eyes=eyes,
                                         face=rep["face_detection"]["rate"], spread=eye_spread(data.images),
                                         seconds=round(time.time() - t, 1))
            print(name, prep, json.dumps(out[f"{name}/{prep}"]), flush=True)
    (work / "prepare.json").write_text(json.dumps(out, indent=1))


def _correct_file(work: Path, model: str, name: str, prep: str) -> Path:
    return work / "correct" / f"{model}-{name}-{prep}.npy"


def _save_correct(work: Path, model: str, name: str, prep: str, correct: np.ndarray) -> None:
    path = _correct_file(work, model, name, prep)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, correct)


def cmd_cheap(work: Path, sets) -> None:
    from flowfer_nb.baselines import out_of_fold_predictions, pixel_features, reference_classifiers
    from flowfer_nb.splits import make_splits
    for name in sets:
        for prep in PREPS:
            data = _prepared(work, name, prep)
            splits = make_splits(data, "subject", FOLDS, seed=SEED)
            t = time.time()
            pred = out_of_fold_predictions(pixel_features(data.images), data.labels, splits,
                                           reference_classifiers(SEED))
            for model, p in pred.items():
                assert (p >= 0).all()
                _save_correct(work, model, name, prep, (p == data.labels).astype(np.float64))
                print(name, prep, model, f"{(p == data.labels).mean():.3f}", f"{time.time() - t:.0f}s", flush=True)


def cmd_cnn(work: Path, sets, preps=tuple(PREPS)) -> None:
    from flowfer_nb.baselines import CNN_PRESETS, train_cnn
    from flowfer_nb.splits import make_splits
    for name in sets:
        for prep in preps:
            data = _prepared(work, name, prep)
            correct = np.full(len(data), np.nan)
            for k, (tr, te) in enumerate(make_splits(data, "subject", FOLDS, seed=SEED)):
                t = time.time()
                r = train_cnn(data, tr, te, CNN_PRESETS["quick"])
                correct[te] = r["predictions"] == data.labels[te]
                print(name, prep, "cnn fold", k, f"{r['accuracy']:.3f}", f"{time.time() - t:.0f}s", flush=True)
            _save_correct(work, "CNN", name, prep, correct)


def cmd_flow(work: Path, sets, folds, preps=tuple(PREPS), variant: str | None = None) -> None:
    """The flow classifier, quick config (the paper's method), or the named variant of chapter 23 on it
    (`--variant adopted`: the adopted one)."""
    import csv
    from flowfer_nb.splits import make_splits
    from flowfer_nb.config import load_config
    from flowfer_nb.runs import train_fold
    from dataclasses import replace
    model_cfg, train_cfg = load_config("quick")
    train_cfg = replace(train_cfg, val_split="subjects", seed=SEED)  # as flowfer-train --split subject
    tag = "flow"
    if variant:
        from flowfer_nb.variants import adopted_variant, get_variant
        variant = adopted_variant() if variant == "adopted" else variant
        v = get_variant(variant)
        model_cfg, train_cfg, tag = replace(model_cfg, **v.model), replace(train_cfg, **v.train), f"flow {variant}"
    for name in sets:
        for prep in preps:
            data = _prepared(work, name, prep)
            cfg = replace(model_cfg, n_classes=len(data.classes))
            splits = make_splits(data, "subject", FOLDS, seed=SEED)
            for k in folds:
                out = work / tag / f"{name}-{prep}" / f"fold_{k:02d}"
                if (out / "metrics.json").is_file(): continue
                t = time.time()
                m = train_fold(data, *splits[k], cfg, train_cfg, out, progress=False)
                print(name, prep, tag, "fold", k, f"{m['test_accuracy']:.3f}", f"{time.time() - t:.0f}s", flush=True)
            done = [k for k in range(FOLDS) if (work / tag / f"{name}-{prep}" / f"fold_{k:02d}" /
                                                "predictions.csv").is_file()]
            if len(done) == FOLDS:
                correct = np.full(len(data), np.nan)
                for k in done:
                    with open(work / tag / f"{name}-{prep}" / f"fold_{k:02d}" / "predictions.csv") as f:
                        for row in csv.DictReader(f): correct[int(row["index"])] = row["true"] == row["predicted"]
                _save_correct(work, f"{tag} (quick)", name, prep, correct)


def cmd_table(work: Path, sets) -> None:
    from flowfer_nb.data import load_prepared
    from flowfer_nb.stats import group_means, mean_interval, paired_bootstrap
    head = " | ".join(PREPS) + " | " + " | ".join(f"{a} - {b}" for a, b in PAIRS)
    lines = [f"| set | model | n subj | {head} |",
             "|" + "---|" * (3 + len(PREPS) + len(PAIRS))]
    for name in sets:
        subjects = load_prepared(work / f"{name}-none.npz").subjects
        models = sorted({p.name.split(f"-{name}-")[0] for p in (work / "correct").glob(f"*-{name}-*.npy")})
        for model in models:
            per = {}
            for prep in PREPS:
                f = _correct_file(work, model, name, prep)
                if f.is_file():
                    c = np.load(f)
                    if not np.isnan(c).any(): per[prep] = group_means(c, subjects)
            cells = []
            for prep in PREPS:
                if prep in per:
                    r = mean_interval(per[prep].to_numpy())
                    cells.append(f"{100 * r['mean']:.1f} [{100 * r['low']:.1f}, {100 * r['high']:.1f}]")
                else: cells.append("-")
            for a, b in PAIRS:
                if a in per and b in per:
                    r = paired_bootstrap((per[a] - per[b]).to_numpy())
                    cells.append(f"{100 * r['mean']:+.1f} [{100 * r['low']:+.1f}, {100 * r['high']:+.1f}]")
                else: cells.append("-")
            n = len(next(iter(per.values()))) if per else 0
            lines.append(f"| {name} | {model} | {n} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    (work / "table.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("stage", choices=("prepare", "cheap", "cnn", "flow", "table"))
    p.add_argument("--work", default="/tmp/flowfer_align", help="folder for prepared files and results (not the repo)")
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    p.add_argument("--folds", nargs="+", type=int, default=list(range(FOLDS)))
    p.add_argument("--preps", nargs="+", default=list(PREPS), choices=list(PREPS))
    p.add_argument("--variant", help="flow: a variant of chapter 23 instead of the paper's method ('adopted': the "
                   "adopted one)")
    a = p.parse_args()
    work = Path(a.work).resolve()
    if REPO in work.parents or work == REPO: sys.exit(f"--work {work}: licensed outputs must stay outside the repo")
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FLOWFER_THREADS", "1")
    if a.stage == "flow": cmd_flow(work, a.sets, a.folds, a.preps, a.variant)
    elif a.stage == "cnn": cmd_cnn(work, a.sets, a.preps)
    else: globals()[f"cmd_{a.stage}"](work, a.sets)


if __name__ == "__main__":
    main()

"""Screen the beta front (chapter 23) on a few subject folds with one seed, within a CPU budget.

Trains (or reads from the fold store) the paper's method and the shared-covariance variants `shared-b<beta>-ema` under
the subject 5-fold of the quick profile, on the folds given; each `-ema` run also gives the row without the average
(`shared-b<beta>`): its last.pt holds exactly the weights of a run without it (chapter 07 tests this). Writes, after
every model, the front's table (per-subject accuracy with intervals over the tested subjects, paired differences to
the paper's method and to the CNN), the per-subject accuracies and the front's figure.

    FLOWFER_THREADS=1 python scripts/screen_beta.py --out results/grid_synthetic_beta \
        --figures figures/grid_synthetic_beta --work /tmp/screen --folds 0 --betas 0.21,1,4,16,2,8
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from flowfer_nb.baselines import out_of_fold_predictions, pixel_features, reference_classifiers
from flowfer_nb.classifier import FlowClassifier, ModelConfig
from flowfer_nb.core import configure_threads, provenance, sha256_file, write_json
from flowfer_nb.data import PAPER_CLASSES, load_prepared
from flowfer_nb.experiment import prepare_data
from flowfer_nb.store import cnn_config, cross_validate, flow_config, protocol_plan
from flowfer_nb.config import TrainConfig
from flowfer_nb.train import evaluate, images_to_tensor, load_checkpoint, use_levers
from flowfer_nb.report import save_figure
from flowfer_nb.adoption import front_row, per_subject_accuracy, plot_beta_front
from flowfer_nb.variants import BETAS, VARIANTS, beta_name, variant_flow_config

PROTOCOL = "subject"


def last_weights_outputs(folder: str, ds, test_idx) -> dict:
    "Posterior, prediction and test bits/dim of a fold's last.pt (the weights without the average)."
    ck = load_checkpoint(Path(folder) / "last.pt")
    cfg, tcfg = ModelConfig.from_dict(ck["model_config"]), TrainConfig.from_dict(ck["train_config"])
    model = FlowClassifier(cfg)
    model.load_state_dict(ck["model"])
    use_levers(model, tcfg.levers, "cpu").eval()
    ev = evaluate(model, images_to_tensor(ds.images[test_idx], cfg.image_size), torch.from_numpy(ds.labels[test_idx]),
                  cfg, tcfg.eval_batch_size, tcfg.seed)
    return dict(pred=ev["pred"], posterior=ev["proba"], bpd=ev["bpd"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="prepared .npz (default: the quick profile's synthetic set)")
    p.add_argument("--profile", default="quick", help="the profile whose sizes and folds are used")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", default="0", help="subject folds to run, e.g. 0 or 0,1,2,3,4")
    p.add_argument("--betas", default=",".join(f"{b:.2g}" for b in BETAS))
    p.add_argument("--cnn", action="store_true", help="train the CNN on the folds too (the reference line)")
    p.add_argument("--adopted", action="store_true", help="run the adopted variant all-class-last too")
    p.add_argument("--h", action="store_true", help="the shared variants with h on z1 (shared-h-b<beta>)")
    p.add_argument("--avg", default="ema", choices=("ema", "pema"),
                   help="the average evaluated beside the last weights: exponential (-ema) or power-function (-pema)")
    p.add_argument("--work", required=True, help="work folder: data and the fold store")
    p.add_argument("--out", required=True)
    p.add_argument("--figures", required=True)
    a = p.parse_args(argv)
    global PROFILE
    PROFILE = a.profile
    configure_threads()
    work, out, figs = Path(a.work), Path(a.out), Path(a.figures)
    for d in (work, out, figs): d.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    data_path = prepare_data(a.data, work, a.seed, PROFILE)
    ds = load_prepared(data_path).subset_classes(PAPER_CLASSES)
    data_sha = sha256_file(data_path)
    splits, _ = protocol_plan(ds, PROTOCOL, PROFILE, a.seed)
    folds = [int(f) for f in a.folds.split(",")]
    tested = np.concatenate([splits[k][1] for k in folds])
    store = work / "folds"
    betas = {b: next(x for x in BETAS if f"{x:.2g}" == b) for b in a.betas.split(",")}
    preds, bpds, meta, seconds = {}, {}, {}, {}

    def run(name, kind, config):
        t0 = time.time()
        rs = cross_validate(data_path, PROTOCOL, {name: (kind, config)}, PROFILE, a.seed, store, 1,
                            folds=folds)[0][name]
        seconds[name] = dict(training=float(sum(r["seconds"] for r in rs)), this_call=time.time() - t0)
        pred = np.full(len(ds), -1)
        for r in rs: pred[r["test_idx"]] = r["pred"]
        preds[name] = pred
        if kind == "flow": bpds[name] = float(np.mean([r["bpd"] for r in rs]))
        return rs

    def write():
        subj = ds.subjects
        acc = {n: per_subject_accuracy(np.where(np.isin(np.arange(len(ds)), tested), pr, -1), ds.labels, subj)
               for n, pr in preds.items()}
        frame = lambda s: pd.DataFrame([s.to_numpy()], index=[a.seed], columns=s.index)
        refs = {k: frame(acc[k]) for k in ("paper", "cnn", "all-class-last") if k in acc}
        rows = [front_row(n, frame(s), refs, **meta.get(n, {}), bpd=bpds.get(n)) for n, s in acc.items()]
        table = pd.DataFrame(rows)
        table.to_csv(out / "front.csv", index=False, float_format="%.4g")
        with open(out / "front.md", "w") as f:
            f.write(f"Beta front screen: {ds.meta.get('source', 'data')}, subject folds of the {PROFILE} profile, "
                    f"{folds} ({len(acc['paper'])} subjects tested), seed {a.seed}. Accuracy per subject (%), 95% "
                    f"percentile bootstrap over subjects (one seed: the seed spread is not in the intervals).\n\n")
            f.write(table.to_markdown(index=False, floatfmt=".2f"))
            f.write("\n")
        pd.DataFrame({n: s for n, s in acc.items()}).to_csv(out / "per_subject.csv", float_format="%.2f")
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(4.6, 3.4), constrained_layout=True)
        lines = {k: float(acc[k].mean()) for k in ("cnn", "LDA on pixel PCA", "pixel LR") if k in acc}
        plot_beta_front(ax, table, lines, f"beta front, subject folds {folds}, {len(acc['paper'])} subjects, seed "
                                          f"{a.seed}")
        save_figure(fig, "front", figs)   # front.png and front.pdf, atomically
        plt.close(fig)
        write_json(out / "screen.json", dict(data=Path(data_path).name, data_sha256=data_sha, seed=a.seed,
                                             folds=folds, betas=list(betas), seconds=seconds,
                                             total_seconds=time.time() - t_start, provenance=provenance()))
        print(table[["variant", "beta", "ema", "accuracy", "acc_low", "acc_high", "subjects", "test_bpd"]]
              .to_string(index=False), flush=True)

    # the cheap references first: pixel LR and LDA on pixel PCA on the same folds
    pix = out_of_fold_predictions(pixel_features(ds.images), ds.labels, [splits[k] for k in folds],
                                  reference_classifiers(a.seed))
    preds.update(pix)
    run("paper", "flow", flow_config(PROFILE, a.seed, PROTOCOL))
    write()
    if a.cnn:
        run("cnn", "cnn", cnn_config(PROFILE, a.seed, PROTOCOL))
        write()
    if a.adopted:
        run("all-class-last", "flow", variant_flow_config("all-class-last", PROFILE, a.seed, PROTOCOL))
        write()
    for label, beta in betas.items():
        name = beta_name(beta, h=a.h, ema=a.avg)
        rs = run(name, "flow", variant_flow_config(name, PROFILE, a.seed, PROTOCOL))
        meta[name] = dict(beta=beta, ema=True)
        plain = beta_name(beta, h=a.h)
        pred = np.full(len(ds), -1)
        bl = []
        for r in rs:
            o = last_weights_outputs(r["folder"], ds, r["test_idx"])
            pred[r["test_idx"]] = o["pred"]
            bl.append(o["bpd"])
        preds[plain], bpds[plain], meta[plain] = pred, float(np.mean(bl)), dict(beta=beta, ema=False)
        assert VARIANTS[plain].train["lam"] == beta
        write()
    print(f"total {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()

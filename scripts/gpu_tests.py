"""The flow mathematics on one device, without nbdev: run from the repository root with PYTHONPATH=.

    python scripts/gpu_tests.py --device cuda [--smoke] [--json-out FILE]

Checks, in float64 on the device: every layer's round trip and log-determinant against autograd's Jacobian
(ActNorm, 1x1 convolution, affine coupling with and without conditioning, flow step, a whole multi-scale
Glow, the conditional flow h and the classifier's f + h), batched against one-by-one class scoring; then,
in float32: the eval-mode weight cache, activation recomputation (same loss and gradients) and the reduced-
precision levers (bf16 coupling networks, TF32 on CUDA) against float32 bits/dim within BF16_BPD_TOL.
Prints one line per check and exits 1 if any failed."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback

import torch

from flowfer_nb.bench import tf32
from flowfer_nb.classifier import FlowClassifier, ModelConfig
from flowfer_nb.flows import (BF16_BPD_TOL, ActNorm, AffineCoupling, FlowLevers, FlowStep, Glow, InvConv1x1, perturb_,
                              set_levers, gaussian_log_prob)

LOGDET_TOL = 1e-8     # float64: log-det against the Jacobian's slogdet
ROUNDTRIP_TOL = 1e-10 # float64: |f^-1(f(x)) - x|
CACHE_TOL = 1e-5      # float32: W W^-1 = I for the cached pair
GRAD_TOL = 1e-4       # float32: gradients with and without activation recomputation (relative to the largest)


def flat(out) -> torch.Tensor:
    "A layer's output (a tensor, or a list of latents) as one (1, D) row."
    return torch.cat([t.flatten(1) for t in out], 1) if isinstance(out, (list, tuple)) else out.flatten(1)


def jacobian_logdet(fn, x: torch.Tensor) -> float:
    "log|det d fn(x) / dx| for one sample x: (1, ...) by autograd's full Jacobian (float64)."
    J = torch.autograd.functional.jacobian(lambda t: flat(fn(t)).squeeze(0), x, vectorize=True)
    return torch.linalg.slogdet(J.reshape(x.numel(), x.numel()))[1].item()


def check_layer(layer, x: torch.Tensor, *args) -> None:
    "Round trip and per-sample log-det (forward and reverse) against the Jacobian, for a layer with forward/reverse."
    y, logdet = layer(x, *args)
    back = layer.reverse(y, *args)
    assert (back - x).abs().max().item() < ROUNDTRIP_TOL, f"round trip error {(back - x).abs().max().item():.2e}"
    for i in range(x.shape[0]):
        a = [t[i:i + 1] if torch.is_tensor(t) else t for t in args]
        got, want = logdet[i].item(), jacobian_logdet(lambda t: layer(t, *a)[0], x[i:i + 1])
        assert abs(got - want) < LOGDET_TOL, f"sample {i}: log-det {got:.10f}, Jacobian {want:.10f}"
        inv = jacobian_logdet(lambda t: layer.reverse(t, *a), y[i:i + 1].detach())
        assert abs(inv + got) < LOGDET_TOL, f"sample {i}: reverse log-det {inv:.10f}, expected {-got:.10f}"


def layers_float64(dev):
    torch.manual_seed(1)
    d = dict(dtype=torch.float64, device=dev)
    check_layer(perturb_(ActNorm(2)).double().to(dev), torch.randn(2, 2, 4, 4, **d))
    check_layer(perturb_(InvConv1x1(4)).double().to(dev), torch.randn(2, 4, 3, 3, **d))
    check_layer(perturb_(AffineCoupling(4, hidden=8)).double().to(dev), torch.randn(2, 4, 3, 3, **d))
    check_layer(perturb_(AffineCoupling(3, hidden=8, cond_channels=2)).double().to(dev), torch.randn(2, 3, 2, 2, **d),
                torch.eye(2, **d))
    check_layer(perturb_(FlowStep(4, hidden=8, cond_channels=3)).double().to(dev), torch.randn(3, 4, 2, 2, **d),
                torch.eye(3, **d))


def glow_float64(dev, levers: FlowLevers):
    "A whole 2-level Glow in float64, eval mode, with `levers` set (bf16 and recomputation must leave float64 exact)."
    torch.manual_seed(5)
    g = Glow(3, 8, n_blocks=2, n_flows=2, hidden=8).to(dev)
    g(torch.rand(16, 3, 8, 8, device=dev) - 0.5)                       # ActNorm initialisation
    set_levers(perturb_(g, std=0.05).double(), levers).eval()
    x = torch.rand(3, 3, 8, 8, dtype=torch.float64, device=dev) - 0.5
    zs, ld, lp = g(x)
    assert (g.reverse(zs) - x).abs().max().item() < ROUNDTRIP_TOL
    for i in range(3):
        want = jacobian_logdet(lambda t: g(t)[0], x[i:i + 1])
        assert abs(ld[i].item() - want) < LOGDET_TOL, f"Glow sample {i}: {ld[i].item():.10f} vs {want:.10f}"
        zi, ldi, lpi = g(x[i:i + 1])
        assert abs(ldi.item() - ld[i].item()) < ROUNDTRIP_TOL and abs(lpi.item() - lp[i].item()) < ROUNDTRIP_TOL, "not per sample"


def tiny_classifier(dev, dtype=torch.float64) -> tuple[FlowClassifier, torch.Tensor]:
    "A perturbed 2-level classifier on 8x8 images and a uint8 batch of 3."
    torch.manual_seed(3)
    cfg = ModelConfig(image_size=8, n_blocks=2, n_flows=2, hidden=8, cond_flows=2, cond_hidden=8, n_classes=3, n_bits=5)
    m = FlowClassifier(cfg).to(dev)
    x = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8, device=dev)
    m.initialize(x)
    return perturb_(m, std=0.05).to(dtype).eval(), x


def classifier_float64(dev):
    "log p(x|y): f's and h's log-dets against the Jacobian of x -> (z4.., h(z1, y)); batched = one-by-one scoring."
    m, xb = tiny_classifier(dev)
    x = m.preprocess(xb, noise=False)
    c = m.cfg.n_classes
    with torch.no_grad():
        ll = m.class_log_likelihood(x)
    for i in range(x.shape[0]):
        for k in range(c):
            y = torch.tensor([k], device=dev)
            def full(t):
                zs = m.f(t)[0]
                return zs[:-1] + [m.h(zs[-1], y)[0]]
            zs, ld_f, lp = m.f(x[i:i + 1])
            z1p, ld_h = m.h(zs[-1], y)
            want = jacobian_logdet(full, x[i:i + 1])
            assert abs((ld_f + ld_h).item() - want) < LOGDET_TOL, f"f + h log-det {(ld_f + ld_h).item():.10f} vs {want:.10f}"
            one = (gaussian_log_prob(z1p) + ld_h + ld_f + lp).item() - m.cfg.n_dims * math.log(m.cfg.n_bins)
            assert abs(ll[i, k].item() - one) < ROUNDTRIP_TOL * 100, f"batched {ll[i, k].item():.10f} vs one-by-one {one:.10f}"
            assert (m.h.reverse(z1p, y) - zs[-1]).abs().max().item() < ROUNDTRIP_TOL, "h does not invert"
    joint = ll + m.log_prior
    assert (torch.logsumexp(joint, 1)[:, None] >= joint).all(), "log p(x) below a joint term"


def cache_float32(dev):
    torch.manual_seed(2)
    ic = perturb_(InvConv1x1(96)).to(dev).eval()
    w, w_inv = ic.weight(), ic.inverse_weight()
    assert ic.weight() is w and ic.inverse_weight() is w_inv, "eval-mode cache not used"
    assert (w @ w_inv - torch.eye(96, device=dev)).abs().max().item() < CACHE_TOL
    with torch.no_grad(): ic.lower.add_(0.01)
    assert ic.inverse_weight() is not w_inv, "cache not invalidated by a parameter update"


def recompute_float32(dev):
    "The training loss and every gradient, with and without activation recomputation."
    torch.manual_seed(7)
    cfg = ModelConfig(image_size=16, n_blocks=2, n_flows=3, hidden=32, cond_flows=2, cond_hidden=32, n_classes=6, n_bits=5)
    m = FlowClassifier(cfg).to(dev)
    x = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, device=dev)
    y = torch.randint(0, 6, (8,), device=dev)
    m.initialize(x)
    perturb_(m, std=0.02).train()
    out = []
    for lev in (FlowLevers(), FlowLevers(checkpoint=True)):
        set_levers(m, lev)
        m.zero_grad(set_to_none=True)
        torch.manual_seed(0)                                            # the same dequantisation noise
        loss = m.loss(x, y)["loss"]
        loss.backward()
        out.append((loss.item(), [p.grad.clone() for p in m.parameters()]))
    (la, ga), (lb, gb) = out
    assert abs(la - lb) < 1e-5 * abs(la), f"loss {la} vs {lb}"
    scale = max(g.abs().max().item() for g in ga)
    err = max((a - b).abs().max().item() for a, b in zip(ga, gb))
    assert err < GRAD_TOL * scale, f"gradients differ by {err:.2e} (largest gradient {scale:.2e})"


def reduced_precision(dev, smoke: bool) -> dict:
    "Per-image bits/dim of a perturbed float32 classifier under bf16 coupling networks (and TF32 on CUDA) vs float32."
    torch.manual_seed(11)
    size = dict(image_size=16, n_blocks=2, n_flows=4, hidden=64) if smoke else dict(image_size=64, n_blocks=4, n_flows=8, hidden=512)
    cfg = ModelConfig(**size, cond_flows=4, cond_hidden=size["hidden"], n_classes=6, n_bits=5)
    m = FlowClassifier(cfg).to(dev)
    x = torch.randint(0, 256, (8, 3, cfg.image_size, cfg.image_size), dtype=torch.uint8, device=dev)
    m.initialize(x)
    perturb_(m, std=0.002).eval()
    def bpd():
        with torch.no_grad(), torch.inference_mode():
            ll = m.class_log_likelihood(m.preprocess(x, noise=False))
        return -ll / (cfg.n_dims * math.log(2))                        # (B, c) bits/dim
    with tf32(False) if dev.type == "cuda" else _null():
        ref = bpd()
        set_levers(m, FlowLevers(coupling_bf16=True))
        gaps = {"bf16": (bpd() - ref).abs().max().item()}
        set_levers(m, FlowLevers())
    if dev.type == "cuda":
        with tf32(True):
            gaps["tf32"] = (bpd() - ref).abs().max().item()
            set_levers(m, FlowLevers(coupling_bf16=True))
            gaps["tf32+bf16"] = (bpd() - ref).abs().max().item()
            set_levers(m, FlowLevers())
    assert gaps["bf16"] > 0, "bf16 coupling networks changed nothing: autocast did not run"
    for k, gap in gaps.items():
        assert gap < BF16_BPD_TOL, f"{k}: bits/dim moved by {gap:.2e} (tolerance {BF16_BPD_TOL})"
    return {"bpd_float32_mean": ref.mean().item(), **{f"bpd_gap_{k}": v for k, v in gaps.items()}}


class _null:
    def __enter__(self): return self
    def __exit__(self, *exc): return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=("cpu", "cuda"))
    p.add_argument("--smoke", action="store_true", help="a small model for the reduced-precision check (CPU try-outs)")
    p.add_argument("--json-out", default=None, help="write the results here as JSON")
    a = p.parse_args(argv)
    if a.device == "cuda" and not torch.cuda.is_available():
        print("gpu_tests: --device cuda: CUDA is not available", file=sys.stderr); return 2
    dev = torch.device(a.device)
    checks = [("layers: round trip and float64 log-det vs Jacobian", lambda: layers_float64(dev)),
              ("Glow: float64 log-det vs Jacobian, per sample", lambda: glow_float64(dev, FlowLevers())),
              ("Glow with bf16 + recomputation levers: float64 unchanged", lambda: glow_float64(dev, FlowLevers(coupling_bf16=True, checkpoint=True))),
              ("classifier: f + h log-det vs Jacobian, batched = one-by-one", lambda: classifier_float64(dev)),
              ("1x1 conv: eval-mode cache of W and W^-1", lambda: cache_float32(dev)),
              ("activation recomputation: same loss and gradients", lambda: recompute_float32(dev)),
              ("reduced precision: bits/dim within BF16_BPD_TOL", lambda: reduced_precision(dev, a.smoke))]
    results, failed = [], 0
    for name, fn in checks:
        t0 = time.perf_counter()
        try:
            extra = fn() or {}
            ok, msg = True, ""
        except Exception as e:  # report every check, then fail
            ok, msg, extra = False, f"{type(e).__name__}: {e}", {}
            traceback.print_exc()
        failed += not ok
        dt = time.perf_counter() - t0
        results.append(dict(check=name, ok=ok, seconds=dt, error=msg, **extra))
        print(f"{'PASS' if ok else 'FAIL'} {dt:6.1f}s  {name}" + (f"  {extra}" if extra else "") + (f"  -- {msg}" if msg else ""), flush=True)
    info = dict(device=str(dev), device_name=torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                torch=torch.__version__, passed=len(checks) - failed, failed=failed, checks=results)
    if a.json_out:
        with open(a.json_out, "w") as fh: json.dump(info, fh, indent=1)
    print(f"gpu_tests: {len(checks) - failed}/{len(checks)} passed on {info['device_name']}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

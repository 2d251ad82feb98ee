"""Measure face alignment by the eyes (issue 25) on the real sets in ../shared (outputs never in the repository).

ADOPTION RULE, written 2026-12-07 14:10 UTC, before any accuracy of an aligned preparation was seen:

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
"""

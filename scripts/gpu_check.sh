#!/usr/bin/env bash
# One check of a lent NVIDIA GPU, run from the repository root without installing the package:
#   bash scripts/gpu_check.sh                     # CUDA: flow tests, then flowfer-bench plain vs fast (paper config)
#   bash scripts/gpu_check.sh --device cpu --smoke   # a tiny CPU rehearsal of the same steps
# Needs torch and numpy only (no nbdev, fastcore, papermill, openTSNE, xgboost; no internet). Every step runs
# under a hard time cap and the whole script under TOTAL_S seconds; a step that would not fit is skipped.
# Logs, tests.json and gpu_check.json go to $OUT if set, else to /tmp/flowfer_gpu_check; one table is printed.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
DEVICE=cuda; SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    *) echo "gpu_check.sh: unknown argument $1 (use --device cpu|cuda, --smoke)" >&2; exit 2 ;;
  esac
done
TOTAL_S=${TOTAL_S:-330}          # whole script, CUDA start-up and compilation included (the lender allows 6 min)
MIN_STEP_S=15                    # a step with less time left than this is skipped
LOG=${OUT:-/tmp/flowfer_gpu_check}
mkdir -p "$LOG"; : > "$LOG/status.tsv"
START=$(date +%s)

if [ "$SMOKE" = 1 ]; then
  PAPER="--img-size 16 --n-blocks 2 --n-flows 2 --hidden 16"; QUICK="--img-size 16 --n-blocks 2 --n-flows 1 --hidden 8"
  TESTS_SMOKE=--smoke; STEPS="--steps 2 --warmup 1"; QSTEPS="--steps 2 --warmup 1"
else
  PAPER="--img-size 64 --n-blocks 4 --n-flows 32 --hidden 512"; QUICK="--img-size 32 --n-blocks 3 --n-flows 4 --hidden 64"
  TESTS_SMOKE=; STEPS="--steps 8 --warmup 2"; QSTEPS="--steps 20 --warmup 3"
fi

step() {  # step NAME CAP_S COMMAND...: run under min(CAP_S, time left), log to $LOG, record exit status and seconds
  local name=$1 cap=$2; shift 2
  local left=$(( TOTAL_S - ($(date +%s) - START) ))
  [ "$cap" -gt "$left" ] && cap=$left
  if [ "$cap" -lt "$MIN_STEP_S" ]; then
    printf '%s\tskip\t0\n' "$name" >> "$LOG/status.tsv"; echo "== $name: skipped (${left}s left)"; return
  fi
  echo "== $name (cap ${cap}s): $*"
  local t0=$(date +%s%N)
  timeout -k 5 "$cap" "$@" > "$LOG/$name.log" 2>&1
  local rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '%s\t%s\t%d.%03d\n' "$name" "$rc" $(( ms / 1000 )) $(( ms % 1000 )) >> "$LOG/status.tsv"
  tail -n 3 "$LOG/$name.log" | cut -c1-200
}
bench() {  # bench NAME CAP_S ARGS...: flowfer-bench --json on $DEVICE
  local name=$1 cap=$2; shift 2
  step "bench_$name" "$cap" "$PY" -m flowfer_nb.bench --device "$DEVICE" --json "$@"
  sed -i "s/^bench_$name\t/$name\t/" "$LOG/status.tsv"
}

"$PY" -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(), '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
FAST=$("$PY" -c "from flowfer_nb.bench import FAST_LEVERS; print(','.join(FAST_LEVERS['$DEVICE']))") || { echo "gpu_check.sh: cannot import flowfer_nb.bench" >&2; exit 2; }
echo "fast variant on $DEVICE: $FAST"
step tests 100 "$PY" scripts/gpu_tests.py --device "$DEVICE" $TESTS_SMOKE --json-out "$LOG/tests.json"
bench paper_b32_plain 70 $PAPER --batch 32 $STEPS --variant plain --no-flops
bench paper_b32_fast 70 $PAPER --batch 32 $STEPS --levers "$FAST"
bench quick_b32_plain 30 $QUICK --batch 32 $QSTEPS --variant plain --no-flops
bench quick_b32_fast 30 $QUICK --batch 32 $QSTEPS --levers "$FAST" --no-flops
bench paper_b64_fast 60 $PAPER --batch 64 $STEPS --levers "$FAST" --no-flops
[ "$DEVICE" = cuda ] && bench paper_b32_tf32 45 $PAPER --batch 32 $STEPS --levers tf32 --no-flops
bench paper_b32_bf16 45 $PAPER --batch 32 $STEPS --levers bf16 --no-flops
bench paper_b32_fast_ckpt 45 $PAPER --batch 32 $STEPS --levers "$FAST,checkpoint" --no-flops
bench paper_b32_compile 150 $PAPER --batch 32 $STEPS --levers "$(echo "$FAST" | sed 's/cache,\?//'),compile" --no-flops
"$PY" scripts/gpu_report.py "$LOG" "$LOG/gpu_check.json"
rc=$?
echo "gpu_check.sh: $(( $(date +%s) - START ))s in all; logs in $LOG"
exit $rc

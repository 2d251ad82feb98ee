#!/usr/bin/env bash
# Every fold of a split as one task of a SLURM job array: task k runs `flowfer-train --fold k`.
# Edit the #SBATCH lines and the variables below (or set the variables in the environment), then
#   sbatch scripts/slurm_folds.sh
# and, once the tasks have finished (on one cluster or several machines),
#   flowfer-collect RUN [RUN2 ...] --data DATA --split SPLIT --folds FOLDS --out tables/
# To bash the #SBATCH lines are comments: `SLURM_ARRAY_TASK_ID=0 bash scripts/slurm_folds.sh` trains fold 0 here.
#
#SBATCH --job-name=flowfer-folds
#SBATCH --array=0-9                # one task per fold: 0..FOLDS-1 (10 folds for uniform and video, 5 for subject)
#SBATCH --cpus-per-task=8          # FLOWFER_THREADS follows it
#SBATCH --gres=gpu:1               # one GPU per fold; delete this line on CPU nodes and set DEVICE=cpu
#SBATCH --mem=32G
#SBATCH --time=48:00:00
#SBATCH --requeue                  # a preempted task starts again and resumes its fold from last.pt
#SBATCH --output=flowfer-folds_%A_%a.log
set -euo pipefail

DATA=${DATA:-/path/to/prepared.npz}  # placeholder: the .npz of flowfer-prepare or flowfer-synth, readable by every node
RUN=${RUN:-runs/paper}               # run folder; one fold_KK/ per task (a shared file system, or collect them later)
CONFIG=${CONFIG:-paper}              # smoke, quick, paper or a JSON file
SPLIT=${SPLIT:-uniform}              # uniform, video, subject or loso
FOLDS=${FOLDS:-10}                   # folds of the split (--array must be 0..FOLDS-1); empty for loso
DEVICE=${DEVICE:-cuda}               # cuda or cpu
EXTRA_ARGS=${EXTRA_ARGS:-}           # more flowfer-train options, e.g. "--seed 1 --quiet"

: "${SLURM_ARRAY_TASK_ID:?not an array task: submit with sbatch, or set SLURM_ARRAY_TASK_ID to a fold number}"
FOLD=$SLURM_ARRAY_TASK_ID
FOLD_DIR=$RUN/$(printf 'fold_%02d' "$FOLD")
if [[ -f $FOLD_DIR/metrics.json ]]; then
  echo "fold $FOLD: already finished ($FOLD_DIR/metrics.json); nothing to do"
  exit 0
fi
RESUME=""
if [[ -f $FOLD_DIR/last.pt ]]; then RESUME=--resume; fi  # a requeued task continues where it stopped
mkdir -p "$RUN"  # made before training, so that no task removes it while another writes into it
export FLOWFER_THREADS=${FLOWFER_THREADS:-${SLURM_CPUS_PER_TASK:-1}}

# shellcheck disable=SC2086  # RESUME and EXTRA_ARGS are split into words on purpose
exec flowfer-train --data "$DATA" --out "$RUN" --config "$CONFIG" --split "$SPLIT" ${FOLDS:+--folds "$FOLDS"} \
  --fold "$FOLD" --device "$DEVICE" $RESUME $EXTRA_ARGS

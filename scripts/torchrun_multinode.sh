#!/usr/bin/env bash
# One flowfer-train job on several nodes with torchrun (DistributedDataParallel: one process per GPU, the global
# batch is batch_size x processes). Run this script once on every node, with the same variables:
#   under SLURM:  srun --nodes=2 --ntasks-per-node=1 scripts/torchrun_multinode.sh   (in an sbatch script)
#   by hand:      MASTER_ADDR=node0.example.org bash scripts/torchrun_multinode.sh   (on each node)
# The nodes meet at MASTER_ADDR:MASTER_PORT through torchrun's c10d rendezvous (any node may become rank 0,
# so RUN must be on a file system every node shares). With NODE_RANK set (0 on MASTER_ADDR's node, 1..NNODES-1
# on the others) torchrun's static rendezvous is used instead.
set -euo pipefail

DATA=${DATA:-/path/to/prepared.npz}  # placeholder: the prepared .npz, at this path on every node
RUN=${RUN:-runs/paper}               # run folder on a shared file system (rank 0 writes it, wherever it runs)
CONFIG=${CONFIG:-paper}              # smoke, quick, paper or a JSON file
SPLIT=${SPLIT:-uniform}              # uniform, video, subject or loso
FOLDS=${FOLDS:-}                     # folds of the split (empty: flowfer-train's default)
FOLD=${FOLD:-0}                      # the fold to train (empty: every fold, one after another)
DEVICE=${DEVICE:-cuda}               # cuda (one process per GPU) or cpu (gloo)
EXTRA_ARGS=${EXTRA_ARGS:-}           # more flowfer-train options, e.g. "--resume --quiet"
NNODES=${NNODES:-${SLURM_NNODES:-2}}
NPROC_PER_NODE=${NPROC_PER_NODE:-1}  # processes per node: the GPUs of a node
MASTER_PORT=${MASTER_PORT:-29500}
RDZV_ID=${RDZV_ID:-${SLURM_JOB_ID:-flowfer}}  # the same on every node of one job, different between jobs
if [[ -z ${MASTER_ADDR:-} && -n ${SLURM_JOB_NODELIST:-} ]]; then
  MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
fi
: "${MASTER_ADDR:?set MASTER_ADDR to the address of the first node}"

if [[ -n ${NODE_RANK:-} ]]; then
  MEET=(--node-rank="$NODE_RANK" --master-addr="$MASTER_ADDR" --master-port="$MASTER_PORT")
else
  MEET=(--rdzv-backend=c10d --rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT" --rdzv-id="$RDZV_ID")
fi
# shellcheck disable=SC2086  # EXTRA_ARGS is split into words on purpose
exec torchrun --nnodes="$NNODES" --nproc-per-node="$NPROC_PER_NODE" "${MEET[@]}" -m flowfer_nb.runs \
  --data "$DATA" --out "$RUN" --config "$CONFIG" --split "$SPLIT" ${FOLDS:+--folds "$FOLDS"} ${FOLD:+--fold "$FOLD"} \
  --device "$DEVICE" $EXTRA_ARGS

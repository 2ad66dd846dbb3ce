#!/usr/bin/env bash
# Data-parallel training throughput on one machine, side by side (issue 12): the THUCNews recipe
# (bench/train/recipe.sh: hidden 128, 2 layers, batch 32, max length 64), one epoch of ernie train
# with 1 process x 2 threads, 2 ranks x 1 thread (mpirun) and 2 ranks with --shard-optimizer;
# then PyTorch (Debian python3-torch on OpenBLAS) with 1 process x 2 threads and DDP over gloo with
# 2 processes x 1 thread on the same model shape and batch (PYTORCH_STEPS steps, default 150).
# PyTorch runs with OPENBLAS_NUM_THREADS=1: OpenBLAS's own thread pool fights torch's OpenMP
# threads (measured: 1 process x 2 threads 1,708 tok/s with it at 2, 2,464 tok/s at 1).
# Tokens/s counts real tokens of the training steps (no evaluation).
#   bash bench/dist/train.sh [build/bin/ernie]
set -euo pipefail
cd "$(dirname "$0")/../.."
ERNIE=${1:-build/bin/ernie}
source bench/train/recipe.sh
# Open MPI refuses root unless told; this script may run as root (CI machines, containers).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe --bind-to none -np 2)
ONE_EPOCH=()   # the recipe without its --epochs: one epoch here
for ((i = 0; i < ${#RECIPE[@]}; i++)); do
  if [ "${RECIPE[i]}" = --epochs ]; then i=$((i + 1)); else ONE_EPOCH+=("${RECIPE[i]}"); fi
done
tokens_per_s() { python3 -c 'import json,sys; print(round([json.loads(l) for l in sys.stdin if l.startswith("{")][-1]["tokens_per_s"]))'; }

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
one=$("$ERNIE" train --config "$WORK/config.json" "${ONE_EPOCH[@]}" --epochs 1 --threads 2 --out "$WORK/one" | tokens_per_s)
two=$("${MPIRUN[@]}" "$ERNIE" train --config "$WORK/config.json" "${ONE_EPOCH[@]}" --epochs 1 --threads 1 \
      --out "$WORK/two" | tokens_per_s)
sharded=$("${MPIRUN[@]}" "$ERNIE" train --config "$WORK/config.json" "${ONE_EPOCH[@]}" --epochs 1 --threads 1 \
          --shard-optimizer --out "$WORK/sharded" | tokens_per_s)
STEPS=${PYTORCH_STEPS:-150}
torch_one=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/train_baseline_torch.py --ernie "$ERNIE" --threads 2 --max-steps "$STEPS" | tokens_per_s)
torch_ddp=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/train_baseline_torch.py --ernie "$ERNIE" --threads 1 --ddp 2 --max-steps "$STEPS" | tokens_per_s)
# Debian's torch links the system libblas.so.3: the alternative in use says which BLAS it runs on.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
echo "PyTorch BLAS: $blas"
printf '| engine | 1 process x 2 threads | 2 ranks x 1 thread | ratio |\n|---|---|---|---|\n'
printf '| ernie train | %s tok/s | %s tok/s | %.2fx |\n' "$one" "$two" "$(echo "$two / $one" | bc -l)"
printf '| ernie train --shard-optimizer | | %s tok/s | %.2fx |\n' "$sharded" "$(echo "$sharded / $one" | bc -l)"
printf '| PyTorch 1.13 (DDP, gloo) | %s tok/s | %s tok/s | %.2fx |\n' "$torch_one" "$torch_ddp" "$(echo "$torch_ddp / $torch_one" | bc -l)"

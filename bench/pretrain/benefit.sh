#!/usr/bin/env bash
# Does masked-LM pretraining help? (issue 16): the THUCNews recipe (bench/train/recipe.sh: hidden 128,
# 2 layers, 3 epochs, batch 32, lr 1e-3) fine-tuned from scratch and from a model first pretrained by
# `ernie pretrain` on the task's own training texts without their labels (whole-word masking with
# the jieba-compatible segmenter), for SEEDS fine-tuning seeds (default 3). Prints each run's final
# eval accuracy, the means, and the pretraining time.
#   bash bench/pretrain/benefit.sh [build/bin/ernie] [PRETRAIN_EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ERNIE=${1:-build/bin/ernie}
EPOCHS=${2:-20}
SEEDS=${SEEDS:-1 2 3}
source bench/train/recipe.sh
awk -F'\t' '{ print $1 }' "$DATA/dev.txt" > "$WORK/corpus.txt"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
"$ERNIE" pretrain --config "$WORK/config.json" --vocab "$VOCAB" --corpus "$WORK/corpus.txt" --out "$WORK/mlm" \
  --max-seq-len 64 --batch-size 32 --lr 1e-3 --warmup-ratio 0.06 --epochs "$EPOCHS" --masking whole-word --packing none \
  --log-steps 0 --threads 2 --quiet | tail -n 1
echo "pretraining: $(( $(date +%s) - start )) s, $EPOCHS epochs over $(wc -l < "$WORK/corpus.txt") titles"
acc() { python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin if l.startswith("{")][-1]["eval_accuracy"])'; }
scratch=() pre=()
for seed in $SEEDS; do
  s=$("$ERNIE" train --config "$WORK/config.json" "${RECIPE[@]}" --seed "$seed" --threads 2 --out "$WORK/s$seed" | acc)
  p=$("$ERNIE" train --init-from "$WORK/mlm" "${RECIPE[@]}" --seed "$seed" --threads 2 --out "$WORK/p$seed" | acc)
  echo "seed $seed: from scratch $s, after pretraining $p"
  scratch+=("$s") pre+=("$p")
done
python3 - "${scratch[*]}" "${pre[*]}" <<'PY'
import sys
s = [float(x) for x in sys.argv[1].split()]
p = [float(x) for x in sys.argv[2].split()]
ms, mp = sum(s) / len(s), sum(p) / len(p)
print(f"| THUCNews recipe, {len(s)} seeds | from scratch {100 * ms:.2f} % | after MLM pretraining {100 * mp:.2f} % | "
      f"{100 * (mp - ms):+.2f} points |")
PY

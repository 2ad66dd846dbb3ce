#!/usr/bin/env bash
# Seed variance of the issue-6 recipe (see thucnews.sh): test accuracy and final training loss of
# ernie.cpp and/or PyTorch over several seeds, with mean, standard deviation and median. Accuracy
# only (no timing), so the runs may share the machine; PyTorch takes ~10 minutes per seed here.
#   bash bench/train/seeds.sh [build/bin/ernie] [ernie|torch|both] [seeds...]
#   bash bench/train/seeds.sh build/bin/ernie ernie 42 1 2 3 4 5 6 7 8 9
set -euo pipefail
ERNIE=${1:-build/bin/ernie}
WHICH=${2:-ernie}
shift $(( $# > 2 ? 2 : $# ))
SEEDS=${*:-42 1 7}
DATA=../shared/data/thucnews-10
[ -d "$DATA" ] || { echo "needs ../shared/data/thucnews-10 beside the repository" >&2; exit 1; }
VOCAB=../shared/data/ernie-1.0-vocab/vocab.txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
sed -e 's/"hidden_size": 768/"hidden_size": 128/' -e 's/"num_hidden_layers": 12/"num_hidden_layers": 2/' \
    -e 's/"num_attention_heads": 12/"num_attention_heads": 4/' -e 's/"intermediate_size": 3072/"intermediate_size": 512/' \
    configs/ernie-1.0-base-zh.json >"$WORK/config.json"

for s in $SEEDS; do
  if [ "$WHICH" != torch ]; then
    "$ERNIE" train --config "$WORK/config.json" --vocab "$VOCAB" --labels "$DATA/class.txt" \
      --train "$DATA/dev.txt" --eval "$DATA/test.txt" --out "$WORK/ernie-$s" --epochs 3 --batch-size 32 --lr 1e-3 \
      --warmup-ratio 0.1 --weight-decay 0.01 --max-seq-len 64 --max-grad-norm 0 --seed "$s" --quiet \
      | tail -n 1 | sed "s/^/ernie $s /" | tee -a "$WORK/results.txt"
  fi
  if [ "$WHICH" != ernie ]; then
    /usr/bin/python3 tools/train_baseline_torch.py --ernie "$ERNIE" --seed "$s" | grep '"epoch": 3' \
      | sed "s/^/torch $s /" | tee -a "$WORK/results.txt"
  fi
done

/usr/bin/python3 - "$WORK/results.txt" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    engine, seed, rest = line.split(" ", 2)
    j = json.loads(rest)
    runs.setdefault(engine, []).append((int(seed), j["eval_accuracy"], j["train_loss"]))
print("\n| engine | seeds | test accuracy per seed | mean ± sd | median | final train loss (mean) |")
print("|---|---|---|---|---|---|")
for engine, r in runs.items():
    acc = [a for _, a, _ in r]
    sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
    print(f"| {engine} | {len(r)} | {', '.join(f'{s}: {a:.4f}' for s, a, _ in r)} | {statistics.mean(acc):.4f} ± {sd:.4f} "
          f"| {statistics.median(acc):.4f} | {statistics.mean(l for _, _, l in r):.3f} |")
PY

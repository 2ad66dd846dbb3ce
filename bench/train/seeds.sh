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
source bench/train/recipe.sh

for s in $SEEDS; do
  if [ "$WHICH" != torch ]; then
    "$ERNIE" train --config "$WORK/config.json" "${RECIPE[@]}" --out "$WORK/ernie-$s" --seed "$s" | tail -n 1 | sed "s/^/ernie $s /" | tee -a "$WORK/results.txt"
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

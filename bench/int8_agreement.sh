#!/bin/bash
# int8 vs fp32 on THUCNews test titles (../shared/data/thucnews-10/test.txt): how often the two
# predict the same label, and each one's accuracy against the gold labels.
# usage: MODEL=DIR bench/int8_agreement.sh [ERNIE_BIN=build/bin/ernie] [N_TITLES=10000] [WORK=/tmp/ernie-agree]
# MODEL is a classifier fine-tuned on THUCNews (e.g. the OUT folder of bench/train/thucnews.sh's
# `ernie train` line); without it, the seed config initialized with seed 42 (random weights, whose
# 13 probabilities all sit near 1/13: agreement then measures noise, not int8).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ERNIE=${1:-$ROOT/build/bin/ernie}
N=${2:-10000}
WORK=${3:-/tmp/ernie-agree}
DATA=$ROOT/../shared/data
mkdir -p "$WORK"
MODEL=${MODEL:-$WORK/model}
if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "no MODEL given: a random-init seed-config classifier (labels are noise)" >&2
  "$ERNIE" init --config "$ROOT/configs/ernie-1.0-base-zh.json" --seed 42 --vocab "$DATA/ernie-1.0-vocab/vocab.txt" --out "$MODEL" >/dev/null
fi
rm -rf "$WORK/int8"
"$ERNIE" quantize --model "$MODEL" --out "$WORK/int8" >/dev/null
head -n "$N" "$DATA/thucnews-10/test.txt" > "$WORK/test.txt"
cut -f1 "$WORK/test.txt" > "$WORK/titles.txt"
"$ERNIE" classify --model "$MODEL" --batch 32 < "$WORK/titles.txt" > "$WORK/f32.txt"
"$ERNIE" classify --model "$WORK/int8" --batch 32 < "$WORK/titles.txt" > "$WORK/int8.txt"
python3 - "$WORK/f32.txt" "$WORK/int8.txt" "$WORK/test.txt" "$DATA/thucnews-10/class.txt" <<'PY'
import sys
first = lambda path: [l.split("\t")[0].strip() for l in open(path, encoding="utf-8")]
a, b = first(sys.argv[1]), first(sys.argv[2])
classes = [l.strip() for l in open(sys.argv[4], encoding="utf-8") if l.strip()]
gold = [classes[int(l.rstrip("\n").split("\t")[1])] for l in open(sys.argv[3], encoding="utf-8")]
assert len(a) == len(b) == len(gold), (len(a), len(b), len(gold))
same = sum(x == y for x, y in zip(a, b))
acc = lambda p: sum(x == y for x, y in zip(p, gold)) / len(gold)
print(f"int8 vs fp32 labels: {same}/{len(a)} agree ({100.0 * same / len(a):.2f}%); "
      f"accuracy fp32 {acc(a):.4f}, int8 {acc(b):.4f}; fp32 predicts {len(set(a))} distinct labels")
PY

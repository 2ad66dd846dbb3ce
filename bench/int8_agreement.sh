#!/bin/bash
# int8 vs fp32 predicted labels on THUCNews test titles (../shared/data/thucnews-10/test.txt).
# usage: bench/int8_agreement.sh [ERNIE_BIN=build/bin/ernie] [N_TITLES=10000] [WORK=/tmp/ernie-agree]
# The classifier is the seed config initialized with seed 42 (random weights until this project
# fine-tunes one: then pass its folder as MODEL=... in the environment).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ERNIE=${1:-$ROOT/build/bin/ernie}
N=${2:-10000}
WORK=${3:-/tmp/ernie-agree}
DATA=$ROOT/../shared/data
mkdir -p "$WORK"
MODEL=${MODEL:-$WORK/model}
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$ERNIE" init --config "$ROOT/configs/ernie-1.0-base-zh.json" --seed 42 --vocab "$DATA/ernie-1.0-vocab/vocab.txt" --out "$MODEL" >/dev/null
fi
[ -f "$WORK/int8/model.safetensors" ] || "$ERNIE" quantize --model "$MODEL" --out "$WORK/int8" >/dev/null
head -n "$N" "$DATA/thucnews-10/test.txt" | cut -f1 > "$WORK/titles.txt"
"$ERNIE" classify --model "$MODEL" --batch 32 < "$WORK/titles.txt" > "$WORK/f32.txt"
"$ERNIE" classify --model "$WORK/int8" --batch 32 < "$WORK/titles.txt" > "$WORK/int8.txt"
python3 - "$WORK/f32.txt" "$WORK/int8.txt" <<'PY'
import sys
a = [l.split()[0] if l.split() else "" for l in open(sys.argv[1], encoding="utf-8")]
b = [l.split()[0] if l.split() else "" for l in open(sys.argv[2], encoding="utf-8")]
assert len(a) == len(b), (len(a), len(b))
same = sum(x == y for x, y in zip(a, b))
print(f"int8 vs fp32 labels: {same}/{len(a)} agree ({100.0 * same / len(a):.2f}%); "
      f"fp32 predicts {len(set(a))} distinct labels")
PY

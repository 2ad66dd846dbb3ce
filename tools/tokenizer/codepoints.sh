#!/usr/bin/env bash
# Every Unicode scalar value through HF's BertNormalizer + BertPreTokenizer and through ours,
# cased and uncased; prints the number of code points that differ (0 expected) and the first ones.
# usage: tools/tokenizer/codepoints.sh [BUILD_DIR=build]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
: "${TOKENIZERS_MODULE:=$ROOT/build-tok/node/node_modules/tokenizers}"
export TOKENIZERS_MODULE
W=$(mktemp -d)
g++ -std=c++20 -O2 -I"$ROOT/include" -I"$ROOT/src" "$ROOT/tools/tokenizer/ours_codepoints.cc" "$BUILD/libernie.a" \
  -lutf8proc -o "$W/ours"
node "$ROOT/tools/tokenizer/hf_codepoints.js" "$W/hf.tsv"
"$W/ours" > "$W/ours.tsv"
paste "$W/hf.tsv" "$W/ours.tsv" | awk -F'\t' '$2!=$5 || $3!=$6' > "$W/diff.tsv"
echo "$(wc -l < "$W/hf.tsv") code points, $(wc -l < "$W/diff.tsv") differ"
head -5 "$W/diff.tsv"
[ ! -s "$W/diff.tsv" ]

#!/usr/bin/env bash
# Builds the tokenizer fuzz target with clang-14 (libFuzzer + ASan + UBSan) and runs it.
# usage: fuzz/tokenizer/run.sh [SECONDS=600] [OUT_DIR=build-fuzz-tok]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-600}
OUT=${2:-$ROOT/build-fuzz-tok}
mkdir -p "$OUT/corpus"
clang++-14 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$ROOT/include" -I"$ROOT/src" "$ROOT/fuzz/tokenizer/tokenizer_fuzz.cc" "$ROOT"/src/tokenizer/*.cc \
  -lutf8proc -o "$OUT/tokenizer_fuzz"
# Seeds: a few real lines of each script (when ../shared is there) and odd bytes.
printf '\x01Hello, WORLD! naïve café' > "$OUT/corpus/seed-en"
printf '\x00今天天气真好\t再见' > "$OUT/corpus/seed-zh"
printf '\x43\xff\xfe\xc0\xaf\xed\xa0\x80 a\xcc\x81\xcc\x96 \xc4\xb0 [MASK]' > "$OUT/corpus/seed-bad"
"$OUT/tokenizer_fuzz" "$OUT/corpus" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 -artifact_prefix="$OUT/"

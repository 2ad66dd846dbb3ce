#!/usr/bin/env bash
# Side-by-side single-thread throughput: ernie::Tokenizer (tokenizer_bench) vs HF tokenizers'
# encodeBatch (../shared/tools/tok_ref.js with RAYON_NUM_THREADS=1), same corpus, same machine.
# usage: bench/tokenizer/compare.sh [BUILD_DIR=build] [CORPUS]   (corpus default: the real-text
#        part of tools/tokenizer/make_corpus.py's output: THUCNews, TNEWS, EPRSTMT, SST-2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
DATA=$ROOT/../shared/data
: "${TOKENIZERS_MODULE:=$ROOT/build-tok/node/node_modules/tokenizers}"
export TOKENIZERS_MODULE
CORPUS=${2:-}
if [ -z "$CORPUS" ]; then
  CORPUS=$(mktemp)
  python3 "$ROOT/tools/tokenizer/make_corpus.py" "$DATA" "$CORPUS" --random-lines 0 >/dev/null
fi
printf '%-26s %-6s %12s %12s %8s\n' vocab lower "hf MB/s" "ernie MB/s" ratio
for v in ernie-1.0-vocab ernie-3.0-base-vocab bert-base-chinese-vocab bert-base-uncased-vocab; do
  for lower in 1 0; do
    hf=0
    for r in 1 2 3; do   # best of 3, like tokenizer_bench's best of 5
      x=$(RAYON_NUM_THREADS=1 node "$ROOT/../shared/tools/tok_ref.js" "$DATA/$v/vocab.txt" $lower "$CORPUS" /dev/null |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["mb_per_s"])')
      hf=$(python3 -c "print(max($hf, $x))")
    done
    ours=$("$BUILD/bin/tokenizer_bench" "$DATA/$v/vocab.txt" $lower "$CORPUS" 1 5 |
           python3 -c 'import json,sys; print(json.load(sys.stdin)["mb_per_s"])')
    printf '%-26s %-6s %12.2f %12.2f %7.1fx\n' "$v" "$lower" "$hf" "$ours" "$(python3 -c "print($ours/$hf)")"
  done
done

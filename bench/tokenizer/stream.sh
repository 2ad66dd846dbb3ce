#!/usr/bin/env bash
# `ernie tokenize` as a whole process (reading, tokenizing, writing ids), streamed (issue 16):
#  1. peak RSS on a generated corpus of BIG_MB MB (default 1024) of Chinese and English lines
#     (/usr/bin/time -v), ids written to /dev/null;
#  2. speed on SPEED_MB MB (default 32) of the same text beside HF tokenizers' single-thread
#     encodeBatch alone (../shared/tools/tok_ref.js with RAYON_NUM_THREADS=1; its timing excludes
#     reading and writing), ERNIE 1.0 vocab, both single-threaded and with every core for ernie.
#   bash bench/tokenizer/stream.sh [build/bin/ernie]       (TOKENIZERS_MODULE=.../node_modules/tokenizers)
set -euo pipefail
cd "$(dirname "$0")/../.."
ERNIE=${1:-build/bin/ernie}
BIG_MB=${BIG_MB:-1024}
SPEED_MB=${SPEED_MB:-32}
VOCAB=../shared/data/ernie-1.0-vocab/vocab.txt
: "${TOKENIZERS_MODULE:=$PWD/build-tok/node/node_modules/tokenizers}"
export TOKENIZERS_MODULE
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Real lines (THUCNews titles, TNEWS sentences, SST-2 reviews) repeated up to the size.
python3 - "$WORK" "$BIG_MB" "$SPEED_MB" <<'PY'
import json, sys
work, big, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = "../shared/data"
lines = [l.split("\t")[0] for l in open(f"{d}/thucnews-10/test.txt", encoding="utf-8")]
lines += [json.loads(l)["sentence"] for l in open(f"{d}/tnews-clue/dev.json", encoding="utf-8")]
lines += [l.split("\t")[0] for l in list(open(f"{d}/sst2/glue_sst2_dev.tsv", encoding="utf-8"))[1:]]
block = ("\n".join(lines) + "\n").encode()
for name, mb in (("big.txt", big), ("speed.txt", small)):
    with open(f"{work}/{name}", "wb") as f:
        for _ in range(max(1, mb * 2**20 // len(block))):
            f.write(block)
PY
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v "$ERNIE" tokenize --vocab "$VOCAB" --ids-only --input "$WORK/big.txt" --output /dev/null 2> "$WORK/time.txt"
rss=$(awk -F: '/Maximum resident/ { print $2 }' "$WORK/time.txt" | xargs)
wall=$(awk '/Elapsed \(wall clock\)/ { print $NF }' "$WORK/time.txt")
echo "| ernie tokenize, $(du -m "$WORK/big.txt" | cut -f1) MB | peak RSS $((rss / 1024)) MB | wall $wall |"
mb=$(du -m "$WORK/speed.txt" | cut -f1)
hf=$(RAYON_NUM_THREADS=1 node ../shared/tools/tok_ref.js "$VOCAB" 1 "$WORK/speed.txt" /dev/null |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["mb_per_s"])')
for t in 1 0; do
  s=$(date +%s.%N)
  "$ERNIE" tokenize --vocab "$VOCAB" --ids-only --threads "$t" --input "$WORK/speed.txt" --output "$WORK/ids.jsonl"
  e=$(date +%s.%N)
  ours=$(python3 -c "print($mb / ($e - $s))")
  echo "| $mb MB, ernie tokenize (process, threads ${t/0/all}) $(printf %.2f "$ours") MB/s | HF encodeBatch alone (1 thread) $(printf %.2f "$hf") MB/s | $(python3 -c "print(f'{$ours / $hf:.1f}x')") |"
done

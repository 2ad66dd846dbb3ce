#!/usr/bin/env bash
# Parity of the tokenizer's windows, truncation/padding sides and decoding with Hugging Face
# tokenizers (tools/tokenizer/hf_windows.js over the Rust core) on THUCNews titles, TNEWS sentences
# and SST-2 sentences: every window (ids, type ids, masks, character offsets, word ids, sequence
# ids) of `ernie tokenize --return-overflowing`, and `ernie tokenize --decode` round trips.
# Prints one line per case; exits 1 if any differs.
# usage: tools/tokenizer/windows_parity.sh [ERNIE_BIN] [LINES]
#   needs: node + `npm i --ignore-scripts tokenizers@0.23.2` (TOKENIZERS_MODULE=.../node_modules/tokenizers)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ERNIE=${1:-$ROOT/build/bin/ernie}
LINES=${2:-2000}
DATA=$ROOT/../shared/data
: "${TOKENIZERS_MODULE:=$ROOT/build-tok/node/node_modules/tokenizers}"
export TOKENIZERS_MODULE
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
awk -F'\t' -v n="$LINES" 'NR <= n { print $1 }' "$DATA/thucnews-10/test.txt" > "$WORK/thucnews.txt"
python3 -c 'import json,sys
for l in list(open(sys.argv[1]))[:int(sys.argv[2])]: print(json.loads(l)["sentence"])' "$DATA/tnews-clue/dev.json" "$LINES" > "$WORK/tnews.txt"
awk -F'\t' -v n="$LINES" 'NR > 1 && NR <= n + 1 { print $1 }' "$DATA/sst2/glue_sst2_dev.tsv" > "$WORK/sst2.txt"
# Pairs, question-answering-like: the first 12 characters of a line, then that line and the next two
# as the context (long enough for several windows).
for c in thucnews tnews sst2; do
  python3 -c 'import sys
L = [l.rstrip("\n") for l in open(sys.argv[1])]
for i, l in enumerate(L): print(l[:12] + "\t" + " ".join(L[i:i + 3]))' "$WORK/$c.txt" > "$WORK/$c.pairs"
done
fail=0
run_case() {   # name corpus vocab lower hf_options ernie_flags...
  local name=$1 corpus=$2 vocab=$3 lower=$4 opts=$5; shift 5
  local flag=""; [ "$lower" = 0 ] && flag="--no-lower-case"
  node "$ROOT/tools/tokenizer/hf_windows.js" "$vocab" "$lower" "$corpus" "$WORK/hf.jsonl" "$opts"
  "$ERNIE" tokenize --vocab "$vocab" $flag --input "$corpus" --output "$WORK/ours.jsonl" "$@"
  if python3 - "$WORK/hf.jsonl" "$WORK/ours.jsonl" "$name" <<'PY'
import json, sys
keys = ["sample", "input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "offsets", "word_ids",
        "sequence_ids", "skip", "keep", "text"]
hf = [json.loads(l) for l in open(sys.argv[1])]
ours = [json.loads(l) for l in open(sys.argv[2])]
def pick(j): return {k: j[k] for k in keys if k in j}
same = sum(pick(a) == pick(b) for a, b in zip(hf, ours)) if len(hf) == len(ours) else 0
print(f"{sys.argv[3]:<46} {same}/{len(hf)} identical" + ("" if len(hf) == len(ours) else f" (ours: {len(ours)} rows)"))
for a, b in zip(hf, ours):
    if pick(a) != pick(b):
        print("  hf:  ", json.dumps(pick(a), ensure_ascii=False)[:400]); print("  ours:", json.dumps(pick(b), ensure_ascii=False)[:400]); break
sys.exit(0 if same == len(hf) == len(ours) else 1)
PY
  then :; else fail=1; fi
}
ZH=$DATA/ernie-1.0-vocab/vocab.txt
EN=$DATA/bert-base-uncased-vocab/vocab.txt
for c in thucnews tnews; do
  run_case "$c windows max 16 stride 4" "$WORK/$c.txt" "$ZH" 1 '{"max_length":16,"stride":4}' \
    --max-len 16 --stride 4 --return-overflowing
  run_case "$c left trunc+pad max 24 stride 6" "$WORK/$c.txt" "$ZH" 1 \
    '{"max_length":24,"stride":6,"direction":"Left","padding":"max_length","padding_side":"Left"}' \
    --max-len 24 --stride 6 --truncation-side left --padding max_length --padding-side left --return-overflowing
  run_case "$c pairs only_second max 32 stride 8" "$WORK/$c.pairs" "$ZH" 1 \
    '{"max_length":32,"stride":8,"strategy":"OnlySecond","pair":true}' \
    --pair --max-len 32 --stride 8 --truncation only_second --return-overflowing
  run_case "$c pairs longest_first max 20 stride 3" "$WORK/$c.pairs" "$ZH" 1 \
    '{"max_length":20,"stride":3,"pair":true,"padding":"longest"}' \
    --pair --max-len 20 --stride 3 --padding longest --return-overflowing
done
run_case "sst2 windows max 12 stride 3 (cased)" "$WORK/sst2.txt" "$EN" 0 '{"max_length":12,"stride":3}' \
  --max-len 12 --stride 3 --return-overflowing
run_case "sst2 left trunc+pad max 16 stride 5" "$WORK/sst2.txt" "$EN" 1 \
  '{"max_length":16,"stride":5,"direction":"Left","padding":"max_length","padding_side":"Left"}' \
  --max-len 16 --stride 5 --truncation-side left --padding max_length --padding-side left --return-overflowing
run_case "sst2 pairs only_second max 24 stride 6" "$WORK/sst2.pairs" "$EN" 1 \
  '{"max_length":24,"stride":6,"strategy":"OnlySecond","pair":true}' \
  --pair --max-len 24 --stride 6 --truncation only_second --return-overflowing
# Decoding: HF decodes its own ids; ours decodes the same ids (the ids themselves are checked above).
for c in thucnews tnews sst2; do
  v=$ZH; [ "$c" = sst2 ] && v=$EN
  node "$ROOT/tools/tokenizer/hf_windows.js" "$v" 1 "$WORK/$c.txt" "$WORK/dec_hf.jsonl" '{}'
  python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l)["input_ids"]))' "$WORK/dec_hf.jsonl" > "$WORK/ids.txt"
  node "$ROOT/tools/tokenizer/hf_windows.js" "$v" 1 "$WORK/$c.txt" "$WORK/hf_dec.jsonl" '{"decode":true}'
  "$ERNIE" tokenize --vocab "$v" --decode --input "$WORK/ids.txt" --output "$WORK/skip.jsonl"
  "$ERNIE" tokenize --vocab "$v" --decode --keep-special-tokens --input "$WORK/ids.txt" --output "$WORK/keep.jsonl"
  if python3 - "$WORK/hf_dec.jsonl" "$WORK/skip.jsonl" "$WORK/keep.jsonl" "$c decode (skip / keep special tokens)" <<'PY'
import json, sys
hf = [json.loads(l) for l in open(sys.argv[1])]
skip = [json.loads(l)["text"] for l in open(sys.argv[2])]
keep = [json.loads(l)["text"] for l in open(sys.argv[3])]
ok = sum(h["skip"] == s and h["keep"] == k for h, s, k in zip(hf, skip, keep))
print(f"{sys.argv[4]:<46} {ok}/{len(hf)} identical")
for h, s, k in zip(hf, skip, keep):
    if h["skip"] != s or h["keep"] != k: print("  hf:  ", h); print("  ours:", s, "|", k); break
sys.exit(0 if ok == len(hf) == len(skip) else 1)
PY
  then :; else fail=1; fi
done
exit $fail

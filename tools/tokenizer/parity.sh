#!/usr/bin/env bash
# Parity of `ernie tokenize` with Hugging Face tokenizers (BertTokenizerFast via ../shared/tools/tok_ref.js)
# on a multilingual corpus, for the 4 shared vocabs, cased and uncased: ids (tok_ref.js) and character
# offsets (hf_offsets.js). Prints one line per run and exits 1 if any line differs.
# usage: tools/tokenizer/parity.sh [ERNIE_BIN] [WORKDIR]
#   needs: node + `npm i --ignore-scripts tokenizers@0.23.2` (TOKENIZERS_MODULE=.../node_modules/tokenizers)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ERNIE=${1:-$ROOT/build/bin/ernie}
WORK=${2:-$(mktemp -d)}
DATA=$ROOT/../shared/data
TOOLS=$ROOT/../shared/tools
: "${TOKENIZERS_MODULE:=$ROOT/build-tok/node/node_modules/tokenizers}"
export TOKENIZERS_MODULE
mkdir -p "$WORK"
python3 "$ROOT/tools/tokenizer/make_corpus.py" "$DATA" "$WORK/corpus.txt" --random-lines "${RANDOM_LINES:-50000}"
fail=0
for v in ernie-1.0-vocab ernie-3.0-base-vocab bert-base-chinese-vocab bert-base-uncased-vocab; do
  for lower in 1 0; do
    flag=""; [ "$lower" = 0 ] && flag="--no-lower-case"
    node "$TOOLS/tok_ref.js" "$DATA/$v/vocab.txt" "$lower" "$WORK/corpus.txt" "$WORK/hf.jsonl" >/dev/null
    node "$ROOT/tools/tokenizer/hf_offsets.js" "$DATA/$v/vocab.txt" "$lower" "$WORK/corpus.txt" "$WORK/hf_off.jsonl"
    # tok_ref.js registers no added tokens, so "[MASK]" in text is plain text there too.
    "$ERNIE" tokenize --vocab "$DATA/$v/vocab.txt" $flag --split-special-tokens \
      --input "$WORK/corpus.txt" --output "$WORK/ours_full.jsonl"
    python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
with open(f"{w}/ours_full.jsonl") as f, open(f"{w}/ours.jsonl", "w") as ids, open(f"{w}/ours_off.jsonl", "w") as offs:
    for line in f:
        j = json.loads(line)
        ids.write(json.dumps(j["input_ids"], separators=(",", ":")) + "\n")
        offs.write(json.dumps(j["offsets"], separators=(",", ":")) + "\n")
PY
    read -r same total < <(python3 "$ROOT/tools/tokenizer/compare.py" "$WORK/corpus.txt" "$WORK/hf.jsonl" "$WORK/ours.jsonl" --show "${SHOW:-2}")
    read -r osame ototal < <(python3 "$ROOT/tools/tokenizer/compare.py" "$WORK/corpus.txt" "$WORK/hf_off.jsonl" "$WORK/ours_off.jsonl" --show "${SHOW:-2}")
    printf '%-26s lowercase=%s  ids %d/%d lines identical (%s%%), offsets %d/%d\n' "$v" "$lower" "$same" "$total" \
      "$(awk -v s="$same" -v t="$total" 'BEGIN{printf "%.4f", 100*s/t}')" "$osame" "$ototal"
    [ "$same" = "$total" ] && [ "$osame" = "$ototal" ] || fail=1
  done
done
exit $fail

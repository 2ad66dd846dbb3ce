#!/usr/bin/env bash
# End to end, text in -> answer out, against transformers.js 3.x (Hugging Face's JavaScript port
# of the transformers pipelines, on ONNX Runtime) through ../shared/tools/pipeline_ref.mjs:
# small BERT models initialized by `ernie init` with the bert-base-uncased and bert-base-chinese
# vocabularies, exported by ../shared/tools/export_onnx_hf.py, run by `ernie pipeline` and by
# transformers.js on the same texts. Compares fill-mask (scores, tokens, sequences),
# text-classification (labels, scores; top_k), token-classification (entities, scores, words,
# offsets; aggregation none), feature-extraction (mean/cls pooling, normalized) and question
# answering (score, start, end; transformers.js returns decoded tokens as the answer text).
# Seen on 2026-12-01 (transformers.js 3.x, Xeon): every line identical.
# usage: bench/pipeline/transformersjs_parity.sh [ERNIE_BIN]
#   needs: npm i --ignore-scripts @huggingface/transformers@3 (TRANSFORMERS_JS=its node_modules/@huggingface/transformers)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ERNIE=${1:-$ROOT/build/bin/ernie}
TOOLS=$ROOT/../shared/tools
DATA=$ROOT/../shared/data
: "${TRANSFORMERS_JS:?set TRANSFORMERS_JS to the @huggingface/transformers package folder}"
export TRANSFORMERS_JS
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mk() {   # name architecture vocab labels_json
  local name=$1 arch=$2 vocab=$3 labels=$4
  python3 - "$WORK/$name.json" "$arch" "$(wc -l < "$vocab")" "$labels" <<'PY'
import json, sys
out, arch, vocab, labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
cfg = {"architectures": [arch], "model_type": "bert", "vocab_size": vocab, "hidden_size": 64, "num_hidden_layers": 2,
       "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 128, "type_vocab_size": 2,
       "initializer_range": 0.5}
if labels: cfg["id2label"] = {str(i): l for i, l in enumerate(labels)}; cfg["label2id"] = {l: i for i, l in enumerate(labels)}
json.dump(cfg, open(out, "w"))
PY
  "$ERNIE" init --config "$WORK/$name.json" --vocab "$vocab" --out "$WORK/$name" --seed 7 >/dev/null
  /usr/bin/python3 "$TOOLS/export_onnx_hf.py" "$WORK/$name" "$WORK/$name-js" >/dev/null 2>&1
}
EN=$DATA/bert-base-uncased-vocab/vocab.txt
ZH=$DATA/bert-base-chinese-vocab/vocab.txt
mk mlm BertForMaskedLM "$EN" '[]'
mk cls BertForSequenceClassification "$ZH" '["negative","neutral","positive"]'
mk ner BertForTokenClassification "$ZH" '["O","B-PER","I-PER","B-ORG","I-ORG","B-LOC","I-LOC"]'
mk qa BertForQuestionAnswering "$EN" '[]'
mk enc BertModel "$EN" '[]'
fail=0
check() {   # name task model input_json options_json ernie_args...
  local name=$1 task=$2 model=$3 input=$4 opts=$5; shift 5
  node "$TOOLS/pipeline_ref.mjs" "$task" "$WORK/$model-js" "$input" "$opts" > "$WORK/js.json" 2>/dev/null
  "$ERNIE" pipeline "$task" --model "$WORK/$model" --options "$opts" "$@" > "$WORK/ours.jsonl"
  python3 - "$WORK/js.json" "$WORK/ours.jsonl" "$name" "$task" <<'PY' || fail=1
import json, sys
js = json.load(open(sys.argv[1]))
ours = [json.loads(l) for l in open(sys.argv[2])]
name, task = sys.argv[3], sys.argv[4]
# ernie writes one line per input; transformers.js answers one input without the outer list.
if task in ("question-answering", "fill-mask", "token-classification") and len(ours) == 1: ours = ours[0]
def close(a, b, path=""):
    if isinstance(a, dict):
        if task == "question-answering": a = {k: v for k, v in a.items() if k != "answer"}   # js: decoded tokens
        return all(close(a[k], b.get(k), path + "." + k) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, y, path) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        ok = b is not None and abs(a - b) <= 2e-4 * max(1.0, abs(a))
    else:
        ok = a == b
    if not ok: print(f"  {name}{path}: transformers.js {a!r} vs ernie {b!r}")
    return ok
same = close(js, ours)
print(f"{name:<44} {'identical' if same else 'DIFFERENT'}")
sys.exit(0 if same else 1)
PY
}
check "fill-mask top 5" fill-mask mlm '"the capital of france is [MASK]."' '{"top_k":5}' --text "the capital of france is [MASK]."
# (transformers.js 3 ignores fill-mask's `targets`: tests/pipeline_test.cc checks them against the Python rules.)
check "text-classification top_k 3" text-classification cls '["这部电影真好看","服务太差了"]' '{"top_k":3}' \
  --text "这部电影真好看" --text "服务太差了"
check "text-classification top 1" text-classification cls '["这部电影真好看"]' '{}' --text "这部电影真好看"
check "token-classification" token-classification ner '"李白是唐朝著名诗人，住在长安。"' '{"ignore_labels":[]}' \
  --text "李白是唐朝著名诗人，住在长安。"
check "feature-extraction mean, normalized" feature-extraction enc '["hello world, this is ernie."]' \
  '{"pooling":"mean","normalize":true}' --text "hello world, this is ernie."
check "feature-extraction cls" feature-extraction enc '["hello world"]' '{"pooling":"cls"}' --text "hello world"
check "question-answering" question-answering qa \
  '{"question":"where is the bridge?","context":"the headquarters are in brooklyn, close to the manhattan bridge."}' \
  '{"top_k":1}' --text $'where is the bridge?\tthe headquarters are in brooklyn, close to the manhattan bridge.'
exit $fail

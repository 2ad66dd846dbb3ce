#!/usr/bin/env bash
# Issue 6's benchmark, side by side on this machine: a tiny ERNIE (the seed config with hidden 128,
# 2 layers, 4 heads, intermediate 512) trained from scratch on THUCNews dev.txt (10k titles) and
# evaluated on test.txt, with the same recipe in ernie.cpp and in PyTorch
# (tools/train_baseline_torch.py): 3 epochs, batch 32, AdamW lr 1e-3, warmup 10% then linear decay,
# weight decay 0.01, max length 64, dropout 0.1, no gradient clipping, 2 threads.
#   bash bench/train/thucnews.sh [build/bin/ernie]
set -euo pipefail
ERNIE=${1:-build/bin/ernie}
DATA=../shared/data/thucnews-10
[ -d "$DATA" ] || { echo "needs ../shared/data/thucnews-10 beside the repository" >&2; exit 1; }
VOCAB=../shared/data/ernie-1.0-vocab/vocab.txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

sed -e 's/"hidden_size": 768/"hidden_size": 128/' -e 's/"num_hidden_layers": 12/"num_hidden_layers": 2/' \
    -e 's/"num_attention_heads": 12/"num_attention_heads": 4/' -e 's/"intermediate_size": 3072/"intermediate_size": 512/' \
    configs/ernie-1.0-base-zh.json >"$WORK/config.json"

echo "load: $(uptime)"
echo "== ernie train"
"$ERNIE" train --config "$WORK/config.json" --vocab "$VOCAB" --labels "$DATA/class.txt" \
  --train "$DATA/dev.txt" --eval "$DATA/test.txt" --out "$WORK/ernie" --epochs 3 --batch-size 32 --lr 1e-3 \
  --warmup-ratio 0.1 --weight-decay 0.01 --max-seq-len 64 --max-grad-norm 0 --threads 2 --seed 42 --quiet |
  tee "$WORK/ernie.jsonl"
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
/usr/bin/python3 tools/train_baseline_torch.py --ernie "$ERNIE" | tee "$WORK/torch.jsonl"

/usr/bin/python3 - "$WORK/ernie.jsonl" "$WORK/torch.jsonl" <<'PY'
import json, sys
def epochs(path):
    return [j for j in map(json.loads, filter(str.strip, open(path))) if "epoch" in j]
e, t = epochs(sys.argv[1]), epochs(sys.argv[2])
es, ts = sum(x["seconds"] for x in e), sum(x["seconds"] for x in t)
print(f"\n| | test accuracy | macro-F1 | training seconds (3 epochs) | tokens/s |")
print(f"|---|---|---|---|---|")
print(f"| ernie.cpp | {e[-1]['eval_accuracy']:.4f} | {e[-1]['eval_macro_f1']:.4f} | {es:.1f} | {sum(x['tokens_per_s'] for x in e)/len(e):.0f} |")
print(f"| PyTorch | {t[-1]['eval_accuracy']:.4f} | {t[-1]['eval_macro_f1']:.4f} | {ts:.1f} | {sum(x['tokens_per_s'] for x in t)/len(t):.0f} |")
print(f"\nernie.cpp trains {ts/es:.2f}x as fast as PyTorch")
PY

#!/usr/bin/env bash
# Issue 6's benchmark, side by side on this machine: a tiny ERNIE (the seed config with hidden 128,
# 2 layers, 4 heads, intermediate 512) trained from scratch on THUCNews dev.txt (10k titles) and
# evaluated on test.txt, with the same recipe in ernie.cpp and in PyTorch
# (tools/train_baseline_torch.py): 3 epochs, batch 32, AdamW lr 1e-3, warmup 10% then linear decay,
# weight decay 0.01, max length 64, dropout 0.1, no gradient clipping, 2 threads.
#   bash bench/train/thucnews.sh [build/bin/ernie]
set -euo pipefail
ERNIE=${1:-build/bin/ernie}
source bench/train/recipe.sh

echo "load: $(uptime)"
# Debian's torch runs on whichever BLAS update-alternatives selects: OpenBLAS with
# libopenblas0-pthread (scripts/install-deps.sh bench), else the reference BLAS, several times slower.
echo "BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
echo "== ernie train"
"$ERNIE" train --config "$WORK/config.json" "${RECIPE[@]}" --out "$WORK/ernie" --threads 2 --seed 42 |
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

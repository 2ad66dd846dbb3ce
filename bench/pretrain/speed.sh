#!/usr/bin/env bash
# Masked-LM training speed beside PyTorch (issue 16): the tiny shape (configs/ernie-1.0-base-zh.json
# with 2 layers x 128, 4 heads, intermediate 512, vocab 18000), batch 32 x up to 64 tokens of
# THUCNews titles, 15 % masked, AdamW, 2 threads. ernie pretrain's decoder reads only the masked
# rows; PyTorch (Debian python3-torch 1.13 on OpenBLAS, OPENBLAS_NUM_THREADS=1) computes the
# BertForMaskedLM head over every position, as transformers does (tools/pretrain_baseline_torch.py).
#   bash bench/pretrain/speed.sh [build/bin/ernie]
set -euo pipefail
cd "$(dirname "$0")/../.."
ERNIE=${1:-build/bin/ernie}
DATA=../shared/data
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
awk -F'\t' '{ print $1 }' "$DATA/thucnews-10/dev.txt" > "$WORK/corpus.txt"
python3 -c 'import json,sys
c = json.load(open("configs/ernie-1.0-base-zh.json"))
c.update(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512)
json.dump(c, open(sys.argv[1], "w"))' "$WORK/tiny.json"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$("$ERNIE" pretrain --config "$WORK/tiny.json" --vocab "$DATA/ernie-1.0-vocab/vocab.txt" --corpus "$WORK/corpus.txt" \
       --out "$WORK/out" --max-seq-len 64 --batch-size 32 --max-steps 200 --log-steps 0 --threads 2 --packing none --quiet |
       python3 -c 'import json,sys; print(round([json.loads(l) for l in sys.stdin][-1]["tokens_per_s"]))')
torch=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/pretrain_baseline_torch.py --ernie "$ERNIE" --steps 60 |
        python3 -c 'import json,sys; print(round(json.loads(sys.stdin.read())["tokens_per_s"]))')
printf '| tiny MLM, batch 32 x 64, 15%% masked, AdamW, 2 threads | ernie pretrain %s tok/s | PyTorch 1.13 %s tok/s | %.1fx |\n' \
  "$ours" "$torch" "$(echo "$ours / $torch" | bc -l)"

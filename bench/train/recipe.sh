# Sourced by the bench/train scripts: issue 6's THUCNews recipe in one place. Sets DATA, VOCAB,
# WORK (a temporary folder removed on exit), WORK/config.json (the seed config shrunk to hidden
# 128, 2 layers, 4 heads, intermediate 512) and RECIPE (ernie train's options for 3 epochs, batch
# 32, AdamW lr 1e-3, warmup 10%, weight decay 0.01, max length 64, no clipping).
DATA=../shared/data/thucnews-10
[ -d "$DATA" ] || { echo "needs ../shared/data/thucnews-10 beside the repository" >&2; exit 1; }
VOCAB=../shared/data/ernie-1.0-vocab/vocab.txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
sed -e 's/"hidden_size": 768/"hidden_size": 128/' -e 's/"num_hidden_layers": 12/"num_hidden_layers": 2/' \
    -e 's/"num_attention_heads": 12/"num_attention_heads": 4/' -e 's/"intermediate_size": 3072/"intermediate_size": 512/' \
    configs/ernie-1.0-base-zh.json >"$WORK/config.json"
RECIPE=(--vocab "$VOCAB" --labels "$DATA/class.txt" --train "$DATA/dev.txt" --eval "$DATA/test.txt" --epochs 3
        --batch-size 32 --lr 1e-3 --warmup-ratio 0.1 --weight-decay 0.01 --max-seq-len 64 --max-grad-norm 0 --quiet)

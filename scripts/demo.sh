#!/usr/bin/env bash
# The main job, end to end on built-in defaults: explain the bundled seed config (ERNIE 1.0 base,
# PaddleNLP style, 13 labels), initialize a model from it, and run a ragged batch through it.
set -euo pipefail
ERNIE=${1:-build/bin/ernie}
CONFIG=configs/ernie-1.0-base-zh.json
OUT=build/demo/ernie-1.0-base-zh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ernie config explain $CONFIG"
"$ERNIE" config explain "$CONFIG"

# Long listings are cut with sed rather than head: head would close the pipe early (SIGPIPE).
step "ernie config explain $CONFIG --lang zh (first lines)"
"$ERNIE" config explain "$CONFIG" --lang zh | sed -n '1,12p'

step "ernie init --config $CONFIG --seed 42 --out $OUT"
"$ERNIE" init --config "$CONFIG" --seed 42 --out "$OUT"

step "ernie inspect $OUT (first tensors)"
"$ERNIE" inspect "$OUT" | sed -n '1,16p'

step "ernie run: a ragged batch of 3 sequences (5, 3 and 9 tokens), packed without padding"
"$ERNIE" run --model "$OUT" --ids '[[1, 1234, 567, 89, 2], [1, 42, 2], [1, 5, 6, 7, 8, 9, 10, 11, 2]]'

echo
echo "The model is freshly initialized, so its labels are chance; fine-tuning arrives with 'ernie train'."

#!/usr/bin/env bash
# ctest wrapper of tools/tokenizer/windows_parity.sh (windows, sides, decoding vs HF tokenizers) on
# the first 300 lines of each corpus. Exits 77 (skipped) without ../shared/data, node or the npm
# registry; installs tokenizers@0.23.2 once into NODE_DIR.
# usage: tests/tokenizer_windows_parity.sh ERNIE_BIN NODE_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ERNIE=$1
NODE_DIR=$2
[ -d "$ROOT/../shared/data/thucnews-10" ] || { echo "SKIP: ../shared/data is absent beside the repository"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node/npm not installed"; exit 77; }
MODULE=$NODE_DIR/node_modules/tokenizers
if [ ! -f "$MODULE/package.json" ]; then
  mkdir -p "$NODE_DIR"
  npm i --ignore-scripts --no-audit --no-fund --prefix "$NODE_DIR" tokenizers@0.23.2 >/dev/null 2>&1 ||
    { echo "SKIP: npm could not install tokenizers@0.23.2 (registry unreachable?)"; exit 77; }
fi
TOKENIZERS_MODULE=$MODULE exec bash "$ROOT/tools/tokenizer/windows_parity.sh" "$ERNIE" 300

#!/usr/bin/env bash
# Single-thread segmentation speed: ernie::Segmenter (segmenter_bench, compiled here with g++
# from the two source files it needs) vs jieba 0.42 (Debian python3-jieba), cut(text, HMM=False),
# same dictionary, same texts: the 20,000 THUCNews titles of ../shared (test + dev, before the TAB).
# usage: bench/segmenter/compare.sh [CORPUS] [DICT]     needs g++, libutf8proc-dev, python3-jieba
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DICT=${2:-/usr/lib/python3/dist-packages/jieba/dict.txt}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CORPUS=${1:-}
if [ -z "$CORPUS" ]; then
  CORPUS=$TMP/titles.txt
  cut -f1 "$ROOT/../shared/data/thucnews-10/test.txt" "$ROOT/../shared/data/thucnews-10/dev.txt" > "$CORPUS"
fi
g++ -O2 -std=c++20 -I"$ROOT/include" -I"$ROOT/src" "$ROOT/bench/segmenter/segmenter_bench.cc" \
    "$ROOT/src/tokenizer/segmenter.cc" "$ROOT/src/tokenizer/unicode.cc" -lutf8proc -o "$TMP/segmenter_bench"
ours=$("$TMP/segmenter_bench" "$DICT" "$CORPUS" 3)
/usr/bin/python3 "$ROOT/bench/segmenter/jieba_bench.py" "$DICT" "$CORPUS" 1 >/dev/null   # warm jieba's cache
theirs=$(/usr/bin/python3 "$ROOT/bench/segmenter/jieba_bench.py" "$DICT" "$CORPUS" 3)
echo "ernie: $ours"
echo "jieba: $theirs"
/usr/bin/python3 - "$ours" "$theirs" <<'PY'
import json, sys
o, j = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert o["chars"] == j["chars"] and o["words"] == j["words"], "the two disagree on the corpus or its words"
print(f"{'':8}{'chars/s':>14}{'load s':>9}\njieba   {j['chars_per_s']:>14,}{j['load_s']:>9.3f}"
      f"   (from its marshal cache; building the prefix dict: {j['build_s']:.3f} s)\n"
      f"ernie   {o['chars_per_s']:>14,.0f}{o['load_s']:>9.3f}   {o['chars_per_s'] / j['chars_per_s']:.1f}x, "
      f"{o['entries']:,} dictionary entries in {o['memory_mb']:.0f} MB")
PY

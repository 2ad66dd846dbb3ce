#!/usr/bin/env bash
# Sharded batch inference on one machine (issue 12): `ernie embed` of the 10,000 THUCNews test
# titles (the text column of test.txt) with 1 process x 2 threads and with 2 ranks x 1 thread
# (mpirun), on one model initialized by `ernie init` with the ERNIE 1.0 vocab:
#   base  the seed config configs/ernie-1.0-base-zh.json as it is (12 x 768, 99.9 M parameters; slow:
#         minutes per run on 2 cores)
#   small the seed config shrunk to 6 layers x 384 (6 heads, intermediate 1536)
# Prints texts/s of each (the embedding pass, model loading excluded: `ernie embed`'s own summary),
# wall seconds, the ratio, and whether both outputs have the same bytes.
# With `1gb`, then also embeds a generated 1 GB text file (random Chinese/ASCII lines) with a tiny
# model in one process and reports the peak RSS (/usr/bin/time -v): long (tens of minutes).
#   bash bench/dist/embed.sh [build/bin/ernie] [base|small] [1gb]
# LINES=N takes only the first N titles, BIG_MB=N makes the big file N MB (to check the script quickly).
set -euo pipefail
cd "$(dirname "$0")/../.."
ERNIE=${1:-build/bin/ernie}
SIZE=${2:-base}
BIG=${3:-}
DATA=../shared/data/thucnews-10
VOCAB=../shared/data/ernie-1.0-vocab/vocab.txt
[ -d "$DATA" ] || { echo "needs ../shared/data/thucnews-10 beside the repository" >&2; exit 1; }
# Open MPI refuses root unless told; this script may run as root (CI machines, containers).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe --bind-to none -np 2)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

case "$SIZE" in
  base) cp configs/ernie-1.0-base-zh.json "$WORK/config.json" ;;
  small) sed -e 's/"hidden_size": 768/"hidden_size": 384/' -e 's/"num_hidden_layers": 12/"num_hidden_layers": 6/' \
             -e 's/"num_attention_heads": 12/"num_attention_heads": 6/' \
             -e 's/"intermediate_size": 3072/"intermediate_size": 1536/' \
             configs/ernie-1.0-base-zh.json >"$WORK/config.json" ;;
  *) echo "model size must be base or small, not '$SIZE'" >&2; exit 2 ;;
esac
"$ERNIE" init --config "$WORK/config.json" --vocab "$VOCAB" --seed 1 --out "$WORK/model" >/dev/null
head -n "${LINES:-10000}" "$DATA/test.txt" | cut -f1 >"$WORK/titles.txt"

# texts/s from `ernie embed`'s summary line on stderr, and the wall seconds of the whole command.
embed() {
  local log=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" 2>"$log" || { cat "$log" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$(sed -n 's/.*(\([0-9.]*\) texts\/s.*/\1/p' "$log") $(echo "$t1 - $t0" | bc -l)"
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
field() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$WORK/config.json"; }
echo "model: $SIZE ($(field num_hidden_layers) layers x $(field hidden_size)), $(wc -l <"$WORK/titles.txt") titles"
ARGS=(embed --model "$WORK/model" --input "$WORK/titles.txt" --pooling cls)
embed "$WORK/one.log" "$ERNIE" "${ARGS[@]}" --threads 2 --output "$WORK/one.npy" >"$WORK/one.res"
embed "$WORK/two.log" "${MPIRUN[@]}" "$ERNIE" "${ARGS[@]}" --threads 1 --output "$WORK/two.npy" >"$WORK/two.res"
read -r one one_s <"$WORK/one.res"
read -r two two_s <"$WORK/two.res"
same=$(cmp -s "$WORK/one.npy" "$WORK/two.npy" && echo "same bytes" || echo "differ (summation order of 2 vs 1 threads)")
printf '| ernie embed | 1 process x 2 threads | 2 ranks x 1 thread | ratio |\n|---|---|---|---|\n'
printf '| texts/s | %s | %s | %.2fx |\n' "$one" "$two" "$(echo "$two / $one" | bc -l)"
printf '| wall s (with loading) | %.1f | %.1f | |\n' "$one_s" "$two_s"
echo "outputs: $same"

[ "$BIG" = 1gb ] || exit 0
# 1 GB of lines of 1-8 random words (CJK runs and ASCII words), drawn from a pool of 100,000 lines.
/usr/bin/python3 - "$WORK/big.txt" "${BIG_MB:-1024}" <<'EOF'
import random, sys
random.seed(1)
cjk = [chr(c) for c in range(0x4E00, 0x9FA6)]
ascii_words = ["news", "sports", "game", "market", "the", "of", "2024", "ERNIE", "model", "data"]
def line():
    parts = []
    for _ in range(random.randint(1, 8)):
        parts.append("".join(random.choices(cjk, k=random.randint(1, 8))) if random.random() < 0.6 else random.choice(ascii_words))
    return " ".join(parts)
pool = [line() for _ in range(100000)]
written = 0
with open(sys.argv[1], "w", encoding="utf-8") as f:
    while written < int(sys.argv[2]) << 20:
        chunk = "\n".join(random.choices(pool, k=50000)) + "\n"
        f.write(chunk)
        written += len(chunk.encode("utf-8"))
EOF
cat >"$WORK/tiny.json" <<EOF
{"architectures": ["ErnieModel"], "model_type": "ernie", "vocab_size": 18000, "hidden_size": 16,
 "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 64,
 "type_vocab_size": 2, "hidden_act": "relu", "initializer_range": 0.02, "pad_token_id": 0}
EOF
"$ERNIE" init --config "$WORK/tiny.json" --vocab "$VOCAB" --seed 1 --out "$WORK/tiny" >/dev/null
echo "big input: $(du -h "$WORK/big.txt" | cut -f1), $(wc -l <"$WORK/big.txt") lines; tiny model (1 x 16), --max-len 32"
/usr/bin/time -v "$ERNIE" embed --model "$WORK/tiny" --input "$WORK/big.txt" --output "$WORK/big.npy" --max-len 32 \
  --batch 256 --threads 2 2>"$WORK/big.log"
grep -E "ernie embed:|Maximum resident set size|Elapsed \(wall clock\)" "$WORK/big.log"
echo "output: $(du -h "$WORK/big.npy" | cut -f1)"

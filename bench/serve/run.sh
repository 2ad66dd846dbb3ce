#!/usr/bin/env bash
# Load test of `ernie serve`: builds a small classifier with `ernie init`, starts the server on a
# free loopback port, runs bench/serve/serve_load.cc (the same 640 requests one at a time, then
# from 16 concurrent clients), stops the server with SIGTERM and checks that it exits 0.
# Bounded: a fixed number of requests, loopback only, stops by itself.
#
# usage: bench/serve/run.sh [BUILD_DIR] [extra serve_load args...]
#   BUILD_DIR: where bin/ernie and bin/serve_load are (default: build)
#   env: THREADS (forward threads, default 2), REQUESTS (default 640), CONCURRENCY (default 16),
#        MIN_SPEEDUP (default 1.5), SERVE_ARGS (extra `ernie serve` options)
set -euo pipefail
BUILD=${1:-build}
shift || true
ERNIE="$BUILD/bin/ernie"
LOAD="$BUILD/bin/serve_load"
for b in "$ERNIE" "$LOAD"; do
  [[ -x "$b" ]] || { echo "missing $b: cmake --build $BUILD --target ernie_cli serve_load" >&2; exit 2; }
done

tmp=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A 6-layer, 384-wide ERNIE classifier (10.6 M encoder parameters) and a vocab of its size.
cat > "$tmp/config.json" <<'JSON'
{
  "architectures": ["ErnieForSequenceClassification"],
  "model_type": "ernie",
  "vocab_size": 2000,
  "hidden_size": 384,
  "num_hidden_layers": 6,
  "num_attention_heads": 6,
  "intermediate_size": 1536,
  "max_position_embeddings": 128,
  "type_vocab_size": 2,
  "id2label": {"0": "negative", "1": "positive"},
  "label2id": {"negative": 0, "positive": 1}
}
JSON
"$ERNIE" init --config "$tmp/config.json" --out "$tmp/model" --seed 7 >/dev/null
{
  printf '[PAD]\n[CLS]\n[SEP]\n[UNK]\n[MASK]\n'
  for w in the movie was great not bad acting plot story and but very boring fun music scene i liked it a lot \
           worst best film ever seen too long short good ending slow; do echo "$w"; done
  for i in $(seq 1 1963); do echo "tok$i"; done
} > "$tmp/model/vocab.txt"

THREADS=${THREADS:-2}
# shellcheck disable=SC2086
"$ERNIE" serve --model "$tmp/model" --port 0 --threads "$THREADS" ${SERVE_ARGS:-} 2> "$tmp/serve.log" &
server=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.log" | head -1)
  [[ -n "$port" ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "the server did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
echo "ernie serve: model 6x384 ERNIE classifier, --threads $THREADS, $(nproc) cores, port $port"

rc=0
"$LOAD" --port "$port" --requests "${REQUESTS:-640}" --concurrency "${CONCURRENCY:-16}" --compare \
  --min-speedup "${MIN_SPEEDUP:-1.5}" "$@" || rc=$?

# Batches the server formed (from its Prometheus metrics).
curl_like() { python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$1"; }
metrics=$(curl_like "http://127.0.0.1:$port/metrics")
batches=$(awk '/^ernie_batch_size_count /{print $2}' <<<"$metrics")
seqs=$(awk '/^ernie_batch_size_sum /{print $2}' <<<"$metrics")
echo "server: $seqs sequences in $batches forward passes"

kill -TERM "$server"
wait "$server" && src=0 || src=$?
server=""
echo "server exit status after SIGTERM: $src"
[[ $src -eq 0 ]] || rc=1
exit $rc

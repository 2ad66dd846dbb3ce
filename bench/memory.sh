#!/usr/bin/env bash
# Memory of a model in each compute type, as a user sees it (MiB, from /proc):
#   served: `ernie serve --dtype X` after it answered one /embed request: VmRSS (resident) and VmHWM (peak)
#   run:    peak of `ernie run --dtype X` on one 8-token row (/usr/bin/time -v)
# usage: bench/memory.sh ERNIE_BINARY MODEL_DIR [DTYPE...]   (MODEL_DIR with its vocab.txt; default f32 bf16 int8)
set -euo pipefail
bin=$1
model=$2
shift 2
dtypes=("$@")
[ ${#dtypes[@]} -eq 0 ] && dtypes=(f32 bf16 int8)
mib() { awk -v k="$1" '$1 == k":" {printf "%.1f", $2 / 1024}' "$2"; }
printf "| dtype | served resident | served peak | run peak |\n|---|---|---|---|\n"
for dt in "${dtypes[@]}"; do
  port=$((20000 + RANDOM % 20000))
  "$bin" serve --model "$model" --dtype "$dt" --port "$port" --threads 2 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"inputs":"hello"}' "http://127.0.0.1:$port/embed"
  cp /proc/$pid/status /tmp/ernie-memory-status.$$
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  peak=$(/usr/bin/time -v "$bin" run --model "$model" --dtype "$dt" --ids '[[1, 1234, 567, 2, 88, 99, 100, 3]]' 2>&1 >/dev/null |
         awk '/Maximum resident/ {printf "%.1f", $6 / 1024}')
  printf "| %s | %s | %s | %s |\n" "$dt" "$(mib VmRSS /tmp/ernie-memory-status.$$)" "$(mib VmHWM /tmp/ernie-memory-status.$$)" "$peak"
  rm -f /tmp/ernie-memory-status.$$
done

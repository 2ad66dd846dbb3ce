#!/usr/bin/env bash
# Builds bench/linear/linear_bench.cc against a build folder's libernie.a and runs it.
#   bench/linear/run.sh [BUILD_DIR] [-- K N ROWS...]     default: build, 768 3072 1 16 128
# Threads: OMP_NUM_THREADS (default 2). GOMP_SPINCOUNT=3000 as the CLI sets it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(768 3072 1 16 128)
xsmm=()
[ -f /usr/lib/libxsmm.a ] && xsmm=(/usr/lib/libxsmm.a /usr/lib/libxsmmnoblas.a -lrt)
g++ -O2 -std=c++20 -fopenmp -I"$root/src" -I"$root/include" "$here/linear_bench.cc" -o "$build/linear_bench" \
  "$build/libernie.a" -ldnnl $(pkg-config --libs libhwy) "${xsmm[@]}" -ldl -lpthread
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-3000} "$build/linear_bench" "${args[@]}"

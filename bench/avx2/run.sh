#!/usr/bin/env bash
# Runs a command as on an AVX2-only x86 CPU (no AVX-512, AVX-VNNI or AMX): every library that
# chooses its code by CPUID (ONNX Runtime's MLAS, oneDNN, libxsmm, Highway) takes its AVX2 path,
# and glibc's string functions theirs. For measuring AVX2 targets on an AVX-512 machine, both
# engines alike (ONNX Runtime has no switch of its own for this).
#   bench/avx2/run.sh CMD [ARGS...]     e.g. bench/avx2/run.sh python3 bench/compare.py ...
# Needs Linux CPUID faulting (cpuid_fault in /proc/cpuinfo; Intel since Ivy Bridge, and KVM guests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
grep -qw cpuid_fault /proc/cpuinfo || { echo "bench/avx2/run.sh: this CPU has no CPUID faulting (cpuid_fault)" >&2; exit 3; }
shim=${TMPDIR:-/tmp}/ernie-cpuid-avx2.so
if [ ! -f "$shim" ] || [ "$here/cpuid_avx2.c" -nt "$shim" ]; then
  gcc -O2 -shared -fPIC "$here/cpuid_avx2.c" -o "$shim.tmp.$$" && mv "$shim.tmp.$$" "$shim"
fi
export LD_AUDIT=$shim
export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512ER,-AVX512PF,-AVX512VL,-AVX512DQ,-AVX512BW,-AVX_VNNI
exec "$@"

#!/usr/bin/env bash
# The kernel tests as on an AVX2-only CPU with every library's dispatch limited, Highway's included
# (ONEDNN_MAX_CPU_ISA, as kernels_isa_AVX2 uses, reaches only oneDNN and libxsmm): through
# bench/avx2/run.sh, which hides AVX-512, AVX-VNNI and AMX from CPUID. First checks that the shim
# hides them from a probe and keeps a process that installs its own SIGSEGV handler working.
# Exit 77 (skipped) where there is nothing to hide or no CPUID faulting.
# usage: avx2_cpu_test.sh ERNIE_TESTS_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tests=$1
grep -qw avx512f /proc/cpuinfo || { echo "skipped: no AVX-512 to hide (the plain run is the AVX2 run)"; exit 77; }
grep -qw cpuid_fault /proc/cpuinfo || { echo "skipped: this CPU has no CPUID faulting"; exit 77; }
command -v gcc >/dev/null || { echo "skipped: no gcc to build the shim"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/probe.c" <<'C'
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
static void own(int s) { (void)s; }
int main(void) {
  signal(SIGSEGV, own);   /* a handler of its own, as Node installs: CPUID must keep working */
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  printf("avx2=%u avx512f=%u amx_tile=%u\n", (b >> 5) & 1, (b >> 16) & 1, (d >> 24) & 1);
  return 0;
}
C
gcc -O1 "$tmp/probe.c" -o "$tmp/probe"
got=$(TMPDIR=$tmp bash "$here/../bench/avx2/run.sh" "$tmp/probe")
[ "$got" = "avx2=1 avx512f=0 amx_tile=0" ] || { echo "FAIL: under the shim CPUID says: $got"; exit 1; }
TMPDIR=$tmp OMP_NUM_THREADS=2 bash "$here/../bench/avx2/run.sh" "$tests" \
  --gtest_filter='LinearPacked.*:KernelsFast.*:Forward.MatchesTransformersGolden'

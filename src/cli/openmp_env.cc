// OpenMP waiting policy for the command-line program.
//
// How long an idle OpenMP worker spins before it sleeps decides two costs. libgomp's default
// (~300k spins, milliseconds) makes every barrier on a machine busy with other work cost up to a
// scheduler time slice: a spinning thread holds the core the thread it waits for needs (a
// 768x768 product on 128 rows went from 1.5 ms to 16 ms on 2 busy cores). Not spinning at all
// makes every parallel region on an idle machine wait for a futex wake-up, which on a VM whose
// host parks idle vCPUs costs tens of microseconds: batch-1 x 16 tokens took 24.5 ms instead of
// 18.5 ms (docs/PERFORMANCE.md, session 11). kSpinCount spins (10-120 us, depending on how long
// the CPU's `pause` takes) gets all of the idle gain (from 2000 up the gain is flat) and caps the
// loss beside one busy process at 1.18x (10000: 1.5x; 0: none). libgomp reads its settings when
// it is loaded, before main(), so the program sets GOMP_SPINCOUNT and re-executes itself once,
// unless the user chose a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT set; GOMP_SPINCOUNT=0 suits a
// machine shared with busy processes) or ERNIE_KEEP_OPENMP_ENV=1.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cli/commands.h"

namespace ernie::cli {

namespace {
constexpr const char* kSpinCount = "3000";   // python/ernie/__init__.py sets the same
}

void tune_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("ERNIE_KEEP_OPENMP_ENV")) return;
  setenv("GOMP_SPINCOUNT", kSpinCount, 1);
  setenv("ERNIE_KEEP_OPENMP_ENV", "1", 1);
  execv("/proc/self/exe", argv);   // returns only on failure: then carry on with the defaults
}

std::string openmp_waiting() {
  std::string s;
  for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"})
    if (const char* e = std::getenv(v)) s += (s.empty() ? "" : " ") + std::string(v) + "=" + e;
  return s.empty() ? "libgomp default" : s;
}

}  // namespace ernie::cli

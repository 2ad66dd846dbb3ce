// OpenMP waiting policy for the command-line program.
//
// libgomp's default lets an idle worker spin for ~300k iterations before sleeping. On a machine
// whose cores are also busy with other work (a shared server, a build running beside), a spinning
// thread holds the core that the thread it waits for needs, and every barrier can cost a whole
// scheduler time slice (we measured a 768x768 product on 128 rows going from 1.5 ms to 16 ms on
// 2 busy cores). The forward pass has only a few hundred parallel regions, each far longer than a
// futex wake-up, so not spinning costs nothing measurable on an idle machine and saves a lot on a
// busy one. libgomp reads its settings when it is loaded, before main(), so the program sets
// GOMP_SPINCOUNT=0 and re-executes itself once, unless the user chose a policy (OMP_WAIT_POLICY
// or GOMP_SPINCOUNT set) or ERNIE_KEEP_OPENMP_ENV=1.
#include <unistd.h>

#include <cstdlib>

#include "cli/commands.h"

namespace ernie::cli {

void tune_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("ERNIE_KEEP_OPENMP_ENV")) return;
  setenv("GOMP_SPINCOUNT", "0", 1);
  setenv("ERNIE_KEEP_OPENMP_ENV", "1", 1);
  execv("/proc/self/exe", argv);   // returns only on failure: then carry on with the defaults
}

}  // namespace ernie::cli

// `ernie bench` reports the OpenMP waiting settings it ran with: they move batch-1 latency by up
// to 1.3x (docs/PERFORMANCE.md), so a figure without them cannot be compared. The program picks
// GOMP_SPINCOUNT=3000 itself unless the user chose a policy.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

std::string waiting_reported(const std::string& env) {
  const std::string model = (ernie::testing::fixtures_dir() / "ernie_relu_seqcls").string();
  const auto r = ernie::testing::run_shell("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u ERNIE_KEEP_OPENMP_ENV " + env +
                                           " '" + ERNIE_BIN + "' bench --model '" + model +
                                           "' --batch 1 --seq-len 8 --iters 1 --warmup 0 --json");
  EXPECT_EQ(r.status, 0) << r.err;
  if (r.status != 0) return "";
  return nlohmann::json::parse(r.out).at("openmp_waiting").get<std::string>();
}

}  // namespace

TEST(BenchCli, ReportsTheOpenMpWaitingItRanWith) {
  EXPECT_EQ(waiting_reported(""), "GOMP_SPINCOUNT=3000");   // the program's own choice
  EXPECT_EQ(waiting_reported("GOMP_SPINCOUNT=0"), "GOMP_SPINCOUNT=0");   // the user's, kept
  EXPECT_EQ(waiting_reported("OMP_WAIT_POLICY=passive"), "OMP_WAIT_POLICY=passive");
  EXPECT_EQ(waiting_reported("ERNIE_KEEP_OPENMP_ENV=1"), "libgomp default");
}

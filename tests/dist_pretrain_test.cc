// Data-parallel `ernie pretrain` under mpirun (2 ranks on this machine): 2 ranks x batch 8 take the
// steps of 1 process x batch 16 (losses, held-out metrics, weights), with packed sequences whose
// masked-token counts differ from rank to rank, with NSP pairs too; a checkpoint of 2 ranks resumes
// in 1 process; a rank that fails ends the job with its error. Skipped when mpirun is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ernie/safetensors.h"
#include "pretrain_setup.h"
#include "test_util.h"

namespace ernie {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::mpirun_prefix;
using testing::PretrainSetup;
using testing::lines_of;
using testing::run_cli;
using testing::weight_difference;
using testing::run_shell;

std::vector<double> values(const std::string& out, const char* key) {
  std::vector<double> v;
  for (const auto& j : lines_of(out))
    if (j.contains(key)) v.push_back(j[key].get<double>());
  return v;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double rel) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_LE(std::abs(got[i] - want[i]), rel * std::abs(want[i])) << i;
}

// Global micro-batches of 16 (2 ranks x 8, or 1 process x 16), 2 per step.
TEST(DistPretrain, TwoRanksReproduceOneProcess) {
  SKIP_WITHOUT_MPIRUN();
  PretrainSetup s;
  for (const std::string task : {"--max-seq-len 40 --eval-fraction 0.1", "--max-seq-len 40 --nsp --eval-fraction 0.1"}) {
    const std::string common = task + " --epochs 6 --max-steps 12 --log-steps 1 --grad-accum 2 --bucket-mb 0.002 ";
    const fs::path one = s.tmp.path() / "one", two = s.tmp.path() / "two";
    fs::remove_all(one), fs::remove_all(two);
    const auto r1 = run_cli(s.args(one, common));
    ASSERT_EQ(r1.status, 0) << r1.err;
    const auto r2 = run_shell(mpirun_prefix(2) + s.args(two, common + "--threads 1 --batch-size 8"));
    ASSERT_EQ(r2.status, 0) << r2.err;
    EXPECT_NE(r2.err.find("data parallel: MPI, 2 ranks"), std::string::npos) << r2.err;
    const auto l1 = values(r1.out, "train_loss"), l2 = values(r2.out, "train_loss");
    ASSERT_EQ(l1.size(), 12u) << r1.out;
    expect_close(l2, l1, 1e-5);
    expect_close(values(r2.out, "eval_mlm_loss"), values(r1.out, "eval_mlm_loss"), 1e-5);
    EXPECT_EQ(values(r2.out, "eval_masked_tokens"), values(r1.out, "eval_masked_tokens"));
    EXPECT_LT(weight_difference(two, one), 1e-4);
  }
}

// 2 ranks x 8 stop at step 7; 1 process x 16 resumes: the uninterrupted 1-process weights.
TEST(DistPretrain, ResumesWithAnotherRankCount) {
  SKIP_WITHOUT_MPIRUN();
  PretrainSetup s;
  const std::string common = "--max-seq-len 40 --epochs 3 --max-steps 12 ";
  const fs::path whole = s.tmp.path() / "whole", split = s.tmp.path() / "split";
  ASSERT_EQ(run_cli(s.args(whole, common)).status, 0);
  const auto a = run_shell(mpirun_prefix(2) + s.args(split, common + "--threads 1 --stop-at-step 7 --batch-size 8"));
  ASSERT_EQ(a.status, 0) << a.err;
  const auto b = run_cli(s.args(split, common + "--resume"));
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_NE(b.err.find("resumed at step 7"), std::string::npos) << b.err;
  EXPECT_LT(weight_difference(split, whole), 1e-4);
  // Another global batch is another stream: refused.
  const auto c = run_cli(s.args(split, common + "--resume --batch-size 8"));
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("drop --resume"), std::string::npos) << c.err;
}

// Rank 1 cannot read its corpus: the job ends (no hang) with rank 1's one-line error.
TEST(DistPretrain, FailingRankEndsTheJob) {
  SKIP_WITHOUT_MPIRUN();
  PretrainSetup s;
  const std::string bin = "'" + std::string(ERNIE_BIN) + "' ";
  const std::string good = s.args(s.tmp.path() / "x", "--threads 1 --max-steps 3");
  std::string bad = good;
  bad.replace(bad.find(s.corpus.string()), s.corpus.string().size(), "/nonexistent.txt");
  const auto r = run_shell("timeout 60 env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe "
                           "--bind-to none -np 1 " + bin + good + " : -np 1 " + bin + bad);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "the job hung";
  EXPECT_NE(r.err.find("ernie: error: rank 1: cannot read corpus /nonexistent.txt"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ernie

// Data-parallel `ernie train` under mpirun (2 ranks on this machine): the same losses, metrics
// and weights as one process of the same global batch, with or without optimizer sharding;
// resumption across rank counts; a killed rank ends the job; ranks that disagree are refused.
// Skipped when mpirun is absent.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "ernie/safetensors.h"
#include "test_util.h"
#include "train_corpus.h"

extern char** environ;

namespace ernie {
namespace {

namespace fs = std::filesystem;
using testing::Corpus;
using testing::mpirun_prefix;
using testing::run_cli;
using testing::weight_difference;
using testing::run_shell;

// 800 rows, batch 16: 50 steps per epoch, dropout 0.1 everywhere.
struct DistCorpus : Corpus {
  DistCorpus() : Corpus(800, 120) {}
  // Two epochs (100 steps), small buckets so that several allreduces overlap the backward pass.
  std::string run(const fs::path& out, const std::string& extra = "") const {
    return args(out, "--epochs 2 --bucket-mb 0.002 " + extra);
  }
};

// Largest relative weight difference after 100 AdamW steps (lr 3e-3) between runs that differ
// only in how sums are associated (ranks, threads, shards): Adam amplifies rounding in
// coordinates with tiny gradients. Measured 7.3e-5 to 8.0e-5 with AVX-512 kernels and 1.25e-4 to
// 1.28e-4 with every library at AVX2 (bench/avx2/run.sh); a bucket left unreduced gives 0.128.
// The per-step losses (within 1e-5 relative) are the sharp check.
constexpr double kWeightTolerance = 3e-4;

fs::path state_of(const fs::path& out) { return out / "checkpoint" / "trainer_state.safetensors"; }

std::vector<double> step_losses(const fs::path& out) {
  const TensorFile tf = read_safetensors(state_of(out));
  const auto state = nlohmann::json::parse(tf.metadata.at("state"));
  std::vector<double> losses;
  for (const auto& s : state["history"]["step_loss"]) losses.push_back(s[1].get<double>());
  return losses;
}

nlohmann::json last_epoch(const std::string& out) {
  const auto end = out.find_last_not_of('\n');
  const auto begin = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1));
}

void expect_losses_match(const std::vector<double>& got, const std::vector<double>& want, double rel) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_LE(std::abs(got[i] - want[i]), rel * std::abs(want[i])) << "step " << i + 1;
}

TEST(DistTrain, TwoRanksReproduceOneProcess) {
  SKIP_WITHOUT_MPIRUN();
  DistCorpus c;
  const auto one = run_cli(c.run(c.dir / "one"));
  ASSERT_EQ(one.status, 0) << one.err;
  const auto two = run_shell(mpirun_prefix(2) + c.run(c.dir / "two", "--threads 1"));
  // Only the word-embedding rows some rank touched exchanged: the same result.
  const auto sparse = run_shell(mpirun_prefix(2) + c.run(c.dir / "sparse", "--threads 1 --sparse-embedding-grads on"));
  ASSERT_EQ(sparse.status, 0) << sparse.err;
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_NE(two.err.find("data parallel: MPI, 2 ranks"), std::string::npos) << two.err;
  // Rank 0 alone reports: one JSON line per epoch.
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), '\n'), 2) << two.out;

  const auto losses = step_losses(c.dir / "one");
  ASSERT_EQ(losses.size(), 100u);
  expect_losses_match(step_losses(c.dir / "two"), losses, 1e-5);
  expect_losses_match(step_losses(c.dir / "sparse"), losses, 1e-5);
  EXPECT_LT(weight_difference(c.dir / "sparse", c.dir / "one"), kWeightTolerance);
  const auto a = last_epoch(one.out), b = last_epoch(two.out);
  EXPECT_NEAR(b["eval_accuracy"].get<double>(), a["eval_accuracy"].get<double>(), 5e-4);
  EXPECT_GT(a["eval_accuracy"].get<double>(), 0.5);   // it learnt (chance: 1/3)
  EXPECT_LT(weight_difference(c.dir / "two", c.dir / "one"), kWeightTolerance);
}

TEST(DistTrain, ShardedOptimizerEqualsUnsharded) {
  SKIP_WITHOUT_MPIRUN();
  DistCorpus c;
  const auto full = run_shell(mpirun_prefix(2) + c.run(c.dir / "full", "--threads 1"));
  ASSERT_EQ(full.status, 0) << full.err;
  const auto sharded = run_shell(mpirun_prefix(2) + c.run(c.dir / "sharded", "--threads 1 --shard-optimizer"));
  ASSERT_EQ(sharded.status, 0) << sharded.err;
  expect_losses_match(step_losses(c.dir / "sharded"), step_losses(c.dir / "full"), 1e-5);
  EXPECT_LT(weight_difference(c.dir / "sharded", c.dir / "full"), kWeightTolerance);
}

// Stop after 30 steps with one rank count, finish with the other: the weights of an
// uninterrupted one-process run. A sharded run's checkpoint holds every rank's moments.
TEST(DistTrain, ResumesWithAnotherRankCount) {
  SKIP_WITHOUT_MPIRUN();
  DistCorpus c;
  ASSERT_EQ(run_cli(c.run(c.dir / "whole")).status, 0);
  const std::string two = mpirun_prefix(2);
  const auto a1 = run_shell(two + c.run(c.dir / "a", "--threads 1 --max-steps 30 --shard-optimizer"));
  ASSERT_EQ(a1.status, 0) << a1.err;
  const auto a2 = run_cli(c.run(c.dir / "a", "--resume"));
  ASSERT_EQ(a2.status, 0) << a2.err;
  EXPECT_LT(weight_difference(c.dir / "a", c.dir / "whole"), kWeightTolerance);

  ASSERT_EQ(run_cli(c.run(c.dir / "b", "--max-steps 30")).status, 0);
  const auto b2 = run_shell(two + c.run(c.dir / "b", "--threads 1 --resume --shard-optimizer"));
  ASSERT_EQ(b2.status, 0) << b2.err;
  EXPECT_LT(weight_difference(c.dir / "b", c.dir / "whole"), kWeightTolerance);
  expect_losses_match(step_losses(c.dir / "b"), step_losses(c.dir / "whole"), 1e-5);
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = testing::read_file(e.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
      out.push_back(std::stoi(name));
  }
  return out;
}

// SIGKILL to one rank mid-epoch: the job ends within 30 s with a failure that names the rank,
// and --resume reaches the weights of an uninterrupted 2-rank run exactly.
TEST(DistTrain, KilledRankEndsTheJobAndResumeConverges) {
  SKIP_WITHOUT_MPIRUN();
  DistCorpus c;
  const std::string extra = "--threads 1 --epochs 6 --save-steps 5";
  ASSERT_EQ(run_shell(mpirun_prefix(2) + c.args(c.dir / "whole", extra)).status, 0);

  const fs::path killed = c.dir / "killed", log = c.dir / "killed.log";
  const std::string cmd = "exec env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe "
                          "--bind-to none -np 2 '" + std::string(ERNIE_BIN) + "' " + c.args(killed, extra) +
                          " >/dev/null 2>'" + log.string() + "'";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t mpirun = 0;
  ASSERT_EQ(posix_spawn(&mpirun, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  // Wait for a mid-run checkpoint, then kill one rank (a child of mpirun).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(state_of(killed)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(state_of(killed))) << testing::read_file(log);
  std::vector<pid_t> ranks;
  while (ranks.size() < 2 && std::chrono::steady_clock::now() < deadline) ranks = children_of(mpirun);
  ASSERT_EQ(ranks.size(), 2u);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(ranks.back(), SIGKILL), 0);
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(mpirun, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (done == 0) {   // a hang: fail, and do not leave the job behind
    kill(mpirun, SIGKILL);
    for (pid_t r : ranks) kill(r, SIGKILL);
    waitpid(mpirun, &status, 0);
    FAIL() << "the job did not end within 30 s of a rank's death";
  }
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string err = testing::read_file(log);
  EXPECT_NE(err.find("rank"), std::string::npos) << err;
  EXPECT_NE(err.find("signal 9"), std::string::npos) << err;

  const auto resumed = run_shell(mpirun_prefix(2) + c.args(killed, extra + " --resume"));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(weight_difference(killed, c.dir / "whole"), 0.0);
}

TEST(DistTrain, RanksThatDisagreeAreRefused) {
  SKIP_WITHOUT_MPIRUN();
  DistCorpus c;
  // Open MPI's MPMD form: rank 0 and rank 1 get different learning rates.
  const std::string bin = "'" + std::string(ERNIE_BIN) + "' ";
  const auto r = run_shell("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe "
                           "--bind-to none -np 1 " + bin + c.run(c.dir / "x", "--threads 1") + " : -np 1 " + bin +
                           c.run(c.dir / "x", "--threads 1 --weight-decay 0.05"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("rank 1 disagrees with rank 0 on the settings"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(state_of(c.dir / "x")));   // refused before any work
}

}  // namespace
}  // namespace ernie

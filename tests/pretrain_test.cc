// `ernie pretrain` end to end on a tiny model: the masked-LM loss falls, the folder it writes
// loads for fill-mask and fine-tuning, a run stopped and resumed mid-epoch ends with the same
// weights as one uninterrupted run, and bad input is a one-line error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ernie/safetensors.h"
#include "pretrain_setup.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ernie::testing::run_cli;
using ernie::testing::PretrainSetup;
using ernie::testing::lines_of;

TEST(Pretrain, LossFallsAndTheFolderLoads) {
  PretrainSetup s;
  const fs::path out = s.tmp.path() / "mlm";
  auto r = run_cli(s.args(out, "--epochs 30 --log-steps 20 --eval-fraction 0.1 --mlm-probability 0.3"));
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<double> train, eval;
  for (const auto& j : lines_of(r.out)) {
    if (j.contains("train_loss")) train.push_back(j["train_loss"]);
    if (j.contains("eval_mlm_loss")) eval.push_back(j["eval_mlm_loss"]);
  }
  ASSERT_GE(train.size(), 5u) << r.out;
  ASSERT_EQ(eval.size(), 30u) << r.out;
  // Near log(|V|) at first; the sentences' word order is learnt (measured: 4.6 -> 2.2 held out).
  EXPECT_LT(train.back(), train.front() - 1.0) << r.out;
  EXPECT_LT(eval.back(), eval.front() - 1.0) << r.out;
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "metrics.jsonl", "pretraining_curves.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  r = run_cli("pipeline fill-mask --model '" + out.string() + "' --text 'the [MASK] of france' --top-k 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).size(), 2u);
  // Whole-word masking and a pre-training head with sentence order.
  r = run_cli(s.args(s.tmp.path() / "sop", "--max-steps 4 --masking whole-word --no-segment --sop --eval-fraction 0.1 --optimizer lamb --schedule polynomial --power 2 --lr-end 1e-5"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(lines_of(r.out).back().contains("eval_sop_accuracy")) << r.out;
}

void expect_same_weights(const fs::path& a, const fs::path& b) {
  const auto ta = ernie::read_safetensors(a / "model.safetensors"), tb = ernie::read_safetensors(b / "model.safetensors");
  ASSERT_EQ(ta.tensors.size(), tb.tensors.size());
  for (const auto& [name, t] : ta.tensors) {
    const auto& u = tb.tensors.at(name);
    ASSERT_EQ(t.nbytes(), u.nbytes());
    EXPECT_EQ(std::memcmp(t.raw(), u.raw(), t.nbytes()), 0) << name;
  }
}

// A damaged state file (metadata or tensors) is refused with one line naming it.
TEST(Pretrain, ResumeRefusesADamagedState) {
  PretrainSetup s;
  const fs::path b = s.tmp.path() / "b";
  ASSERT_EQ(run_cli(s.args(b, "--epochs 2 --stop-at-step 4")).status, 0);
  const fs::path file = b / "pretrain_state.safetensors";
  const ernie::TensorFile good = ernie::read_safetensors(file);
  nlohmann::json state = nlohmann::json::parse(good.metadata.at("state"));
  state["step"] = "4";
  ernie::write_safetensors(file, good.tensors, {{"state", state.dump()}});
  auto r = run_cli(s.args(b, "--epochs 2 --resume"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(file.string() + ": not a pretraining state"), std::string::npos) << r.err;
  auto tensors = good.tensors;
  tensors.erase("adam_v");
  ernie::write_safetensors(file, tensors, good.metadata);
  r = run_cli(s.args(b, "--epochs 2 --resume"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(file.string() + ": tensor adam_v is missing or not F32"), std::string::npos) << r.err;
}

TEST(Pretrain, ResumedMidEpochEqualsUninterrupted) {
  PretrainSetup s;
  const fs::path a = s.tmp.path() / "a", b = s.tmp.path() / "b";
  // 15 steps an epoch (a line fills a 16-token sequence): the interrupted job ends at step 19, in the
  // middle of epoch 2.
  ASSERT_EQ(run_cli(s.args(a, "--epochs 2 --log-steps 4")).status, 0);
  ASSERT_EQ(run_cli(s.args(b, "--epochs 2 --log-steps 4 --stop-at-step 19")).status, 0);
  auto r = run_cli(s.args(b, "--epochs 2 --log-steps 4 --resume"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("resumed at step 19"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("count of the same corpus files is reused"), std::string::npos) << r.err;
  // metrics.jsonl: every line of the uninterrupted run, none twice (the stopped job's own last
  // evaluation at step 19 is the only extra line).
  auto entries = [](const fs::path& f) {
    std::vector<std::pair<int64_t, bool>> v;   // (step, is an evaluation)
    std::ifstream in(f);
    for (std::string l; std::getline(in, l);) {
      const auto j = nlohmann::json::parse(l);
      v.emplace_back(j.at("step").get<int64_t>(), j.contains("epoch") && !j.contains("train_loss"));
    }
    return v;
  };
  const auto ea = entries(a / "metrics.jsonl"), eb = entries(b / "metrics.jsonl");
  EXPECT_TRUE(std::is_sorted(eb.begin(), eb.end()));
  EXPECT_EQ(std::adjacent_find(eb.begin(), eb.end()), eb.end());
  for (const auto& e : ea) EXPECT_NE(std::find(eb.begin(), eb.end(), e), eb.end()) << e.first;
  EXPECT_EQ(eb.size(), ea.size() + 1);
  expect_same_weights(a, b);
}

// --resume reuses the checkpoint's example count only for the same corpus files: a corpus with a
// new modification time is counted again (same text: the run resumes to the same weights); a
// grown corpus is counted again and refused as other data.
TEST(Pretrain, ResumeRecountsAChangedCorpus) {
  PretrainSetup s;
  const fs::path a = s.tmp.path() / "a", b = s.tmp.path() / "b";
  ASSERT_EQ(run_cli(s.args(a, "--epochs 2")).status, 0);
  ASSERT_EQ(run_cli(s.args(b, "--epochs 2 --stop-at-step 19")).status, 0);
  fs::last_write_time(s.corpus, fs::last_write_time(s.corpus) + std::chrono::seconds(5));
  auto r = run_cli(s.args(b, "--epochs 2 --resume"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("is reused"), std::string::npos) << r.err;
  expect_same_weights(a, b);

  ASSERT_EQ(run_cli(s.args(b, "--epochs 3 --stop-at-step 20")).status, 0);
  std::ofstream(s.corpus, std::ios::app) << "another line of text for the corpus\n";
  r = run_cli(s.args(b, "--epochs 3 --resume"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("other data or settings"), std::string::npos) << r.err;
}

std::vector<double> train_losses(const std::string& out) {
  std::vector<double> v;
  for (const auto& j : lines_of(out))
    if (j.contains("train_loss")) v.push_back(j["train_loss"]);
  return v;
}

// The background data thread prepares the same steps as the main thread would: the same losses
// and bit-identical weights, whatever its depth.
TEST(Pretrain, DataThreadChangesNothing) {
  PretrainSetup s;
  const fs::path a = s.tmp.path() / "a", b = s.tmp.path() / "b";
  const auto ra = run_cli(s.args(a, "--epochs 2 --max-steps 12 --log-steps 1 --grad-accum 2 --prefetch 0"));
  const auto rb = run_cli(s.args(b, "--epochs 2 --max-steps 12 --log-steps 1 --grad-accum 2 --prefetch 3"));
  ASSERT_EQ(ra.status, 0) << ra.err;
  ASSERT_EQ(rb.status, 0) << rb.err;
  ASSERT_EQ(train_losses(ra.out).size(), 12u);
  EXPECT_EQ(train_losses(ra.out), train_losses(rb.out));
  expect_same_weights(a, b);
}

// The loss of a step is the mean over the masked tokens of all its micro-batches: 2 micro-batches of
// 8 take the steps of one of 16 (without dropout, whose masks follow the micro-batch).
TEST(Pretrain, GradientAccumulationEqualsTheWholeBatch) {
  PretrainSetup s;
  nlohmann::json cfg = nlohmann::json::parse(ernie::testing::read_file(s.config));
  cfg["hidden_dropout_prob"] = cfg["attention_probs_dropout_prob"] = 0.0;
  const fs::path config = s.tmp.path() / "no-dropout.json";
  ernie::testing::write_file(config, cfg.dump());
  auto args = [&](const fs::path& out, const std::string& extra) {
    std::string a = s.args(out, "--max-seq-len 40 --epochs 4 --max-steps 12 --log-steps 1 " + extra);
    a.replace(a.find(s.config.string()), s.config.string().size(), config.string());
    return a;
  };
  const auto whole = run_cli(args(s.tmp.path() / "whole", "--batch-size 16"));
  const auto accum = run_cli(args(s.tmp.path() / "accum", "--batch-size 8 --grad-accum 2"));
  ASSERT_EQ(whole.status, 0) << whole.err;
  ASSERT_EQ(accum.status, 0) << accum.err;
  const auto a = train_losses(whole.out), b = train_losses(accum.out);
  ASSERT_EQ(a.size(), 12u) << whole.out;
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 1e-5 * a[i]) << i;
}

// ERNIE 1.0's stages in one run (token for the first half of the 20 steps, whole words after): a
// job stopped in the second stage and resumed ends with the uninterrupted run's weights; line by
// line examples (--packing none) resume the same way.
TEST(Pretrain, MaskingScheduleAndUnpackedResume) {
  PretrainSetup s;
  for (const std::string extra : {"--max-steps 20 --masking-schedule token:0.5,whole-word:0.5 --no-segment",
                                  "--max-steps 20 --packing none --sop"}) {
    const fs::path a = s.tmp.path() / "a", b = s.tmp.path() / "b";
    fs::remove_all(a), fs::remove_all(b);
    const auto ra = run_cli(s.args(a, extra));
    ASSERT_EQ(ra.status, 0) << ra.err;
    ASSERT_EQ(run_cli(s.args(b, extra + " --stop-at-step 13")).status, 0);
    const auto rb = run_cli(s.args(b, extra + " --resume"));
    ASSERT_EQ(rb.status, 0) << rb.err;
    EXPECT_NE(rb.err.find("resumed at step 13"), std::string::npos) << rb.err;
    expect_same_weights(a, b);
  }
}

TEST(Pretrain, BadInputIsAOneLineError) {
  PretrainSetup s;
  for (const auto& [extra, want] : std::vector<std::pair<std::string, std::string>>{
           {"--nsp --sop", "--nsp and --sop are exclusive"},
           {"--mlm-probability 1.5", "--mlm-probability must be in (0, 1)"},
           {"--max-seq-len 500", "exceeds the model's longest input"},
           {"--masking-schedule token:0.5", "the shares add up to 0.5"},
           {"--masking-schedule token:0.5,entity:0.5", "a stage is token, whole-word or knowledge, not 'entity'"},
           {"--masking whole-word --masking-schedule token:1", "give --masking or --masking-schedule, not both"},
           {"--prefetch -1", "--prefetch must be 0"},
       }) {
    const auto r = run_cli(s.args(s.tmp.path() / "x", extra));
    EXPECT_EQ(r.status, 1) << extra;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
  }
  const auto r = run_cli("pretrain --config '" + s.config.string() + "' --vocab '" + s.vocab.string() +
                         "' --corpus /nonexistent.txt --max-seq-len 16 --out '" + (s.tmp.path() / "y").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot read corpus /nonexistent.txt"), std::string::npos) << r.err;
}

}  // namespace

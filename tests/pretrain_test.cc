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
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ernie::testing::run_cli;

struct PretrainSetup {
  ernie::testing::TempDir tmp;
  fs::path vocab = ernie::testing::fixtures_dir() / "pipeline" / "vocab.txt";
  fs::path config = tmp.path() / "config.json", corpus = tmp.path() / "corpus.txt";
  PretrainSetup() {
    std::vector<std::string> words;
    std::ifstream v(vocab);
    for (std::string w; std::getline(v, w);)
      if (w.size() > 1 && w[0] != '[' && w[0] != '#') words.push_back(w);
    // Sentences with structure to learn: word i is followed by word i+1.
    std::ofstream c(corpus);
    for (int s = 0; s < 240; ++s) {
      const size_t first = static_cast<size_t>(s * 7) % (words.size() - 8);
      for (size_t k = 0; k < 8; ++k) c << (k ? " " : "") << words[first + k];
      c << (s % 40 == 39 ? "\n\n" : "\n");   // documents of 40 lines
    }
    const json cfg = {{"architectures", {"BertForMaskedLM"}}, {"model_type", "bert"}, {"vocab_size", 160},
                      {"hidden_size", 32}, {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                      {"intermediate_size", 64}, {"max_position_embeddings", 64}, {"type_vocab_size", 2}};
    std::ofstream(config) << cfg.dump();
  }
  std::string args(const fs::path& out, const std::string& extra = "") const {
    return "pretrain --config '" + config.string() + "' --vocab '" + vocab.string() + "' --corpus '" + corpus.string() +
           "' --out '" + out.string() + "' --batch-size 16 --lr 3e-3 --threads 2 --quiet " +
           (extra.find("--max-seq-len") == std::string::npos ? "--max-seq-len 16 " : "") + extra;
  }
};

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] == '{') v.push_back(json::parse(l));
  return v;
}

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

TEST(Pretrain, ResumedMidEpochEqualsUninterrupted) {
  PretrainSetup s;
  const fs::path a = s.tmp.path() / "a", b = s.tmp.path() / "b";
  // 14 steps an epoch: the interrupted job ends at step 19, in the middle of epoch 2.
  ASSERT_EQ(run_cli(s.args(a, "--epochs 2")).status, 0);
  ASSERT_EQ(run_cli(s.args(b, "--epochs 2 --stop-at-step 19")).status, 0);
  auto r = run_cli(s.args(b, "--epochs 2 --resume"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("resumed at step 19"), std::string::npos) << r.err;
  const auto ta = ernie::read_safetensors(a / "model.safetensors"), tb = ernie::read_safetensors(b / "model.safetensors");
  ASSERT_EQ(ta.tensors.size(), tb.tensors.size());
  for (const auto& [name, t] : ta.tensors) {
    const auto& u = tb.tensors.at(name);
    ASSERT_EQ(t.nbytes(), u.nbytes());
    EXPECT_EQ(std::memcmp(t.raw(), u.raw(), t.nbytes()), 0) << name;
  }
}

TEST(Pretrain, BadInputIsAOneLineError) {
  PretrainSetup s;
  for (const auto& [extra, want] : std::vector<std::pair<std::string, std::string>>{
           {"--nsp --sop", "--nsp and --sop are exclusive"},
           {"--mlm-probability 1.5", "--mlm-probability must be in (0, 1)"},
           {"--max-seq-len 500", "exceeds the model's longest input"},
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

// The forward pass against reference outputs from independent implementations:
// tests/fixtures (PyTorch, tools/torch_reference.py, cross-checked against transformers' golden
// files) and ../shared/golden (transformers 5.17 itself). Tolerance: 1e-4 absolute at valid
// positions, as the issue requires.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "ernie/model.h"
#include "ernie/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace ernie;

namespace {

constexpr double kTolerance = 1e-4;

Tensor get(const TensorFile& f, const std::string& name) {
  auto it = f.tensors.find(name);
  return it == f.tensors.end() ? Tensor() : it->second;
}

// Max |a - b| over positions whose mask (if given, [B, L]) is 1; a and b are [B, L, ...] or [B, ...].
double max_diff(const Tensor& got, const Tensor& want, const Tensor& mask, const std::string& what) {
  EXPECT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  if (got.shape() != want.shape()) return INFINITY;
  const Tensor g = got.to_f32(), w = want.to_f32();
  const int64_t n = g.numel();
  std::vector<int64_t> m;
  int64_t per = 1;
  if (mask.defined()) {
    m = mask.to_i64();
    per = n / static_cast<int64_t>(m.size());
  }
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!m.empty() && m[i / per] == 0) continue;
    worst = std::max(worst, std::fabs(static_cast<double>(g.data<float>()[i]) - w.data<float>()[i]));
  }
  return worst;
}

Tensor flat(const Tensor& t) { return t.defined() && t.rank() == 3 ? t.reshaped({t.dim(0) * t.dim(1), t.dim(2)}) : t; }

struct RunResult {
  Outputs out;
  Batch batch;
};

RunResult run(const Model& model, const Tensor& ids, const Tensor& mask, const Tensor& types, const Tensor& tasks) {
  // Multiple-choice inputs [B, C, L] run as [B*C, L] rows.
  PaddedInputs in{flat(ids), flat(mask), flat(types), flat(tasks)};
  Batch batch = pack_padded(in, model.config());
  return {model.forward(batch), batch};
}

// Checks every output the reference has, for the masked run and the no-mask run.
void check_case(const fs::path& dir) {
  SCOPED_TRACE(dir.filename().string());
  // Golden cases keep the model in model/, fixtures beside the reference.
  const Model model = Model::load(fs::is_directory(dir / "model") ? dir / "model" : dir);
  const TensorFile ref = read_safetensors(dir / "reference.safetensors");
  const Tensor ids = get(ref, "input_ids"), mask = get(ref, "attention_mask");
  const Tensor flat_mask = flat(mask);
  auto [out, batch] = run(model, ids, mask, get(ref, "token_type_ids"), get(ref, "task_type_ids"));

  EXPECT_LE(max_diff(unpack_padded(out.embedding_output, batch), get(ref, "embedding_output"), flat_mask, "embedding"),
            kTolerance);
  EXPECT_LE(max_diff(unpack_padded(out.last_hidden_state, batch), get(ref, "final_hidden"), flat_mask, "hidden"),
            kTolerance);
  if (Tensor want = get(ref, "pooler_output"); want.defined()) {
    ASSERT_TRUE(out.pooler_output.defined());
    EXPECT_LE(max_diff(out.pooler_output, want, Tensor(), "pooler"), kTolerance);
  }
  if (Tensor want = get(ref, "logits"); want.defined()) {
    ASSERT_TRUE(out.logits.defined());
    if (out.logits_per_token) {
      EXPECT_LE(max_diff(unpack_padded(out.logits, batch), want, flat_mask, "logits"), kTolerance);
    } else {
      ASSERT_EQ(out.logits.numel(), want.numel());   // multiple choice: [B*C, 1] vs [B, C]
      EXPECT_LE(max_diff(out.logits.reshaped(want.shape()), want, Tensor(), "logits"), kTolerance);
    }
  }
  for (const char* name : {"start_logits", "end_logits"}) {
    if (Tensor want = get(ref, name); want.defined()) {
      const Tensor& got = std::string(name) == "start_logits" ? out.start_logits : out.end_logits;
      ASSERT_TRUE(got.defined()) << name;
      EXPECT_LE(max_diff(unpack_padded(got, batch), want, flat_mask, name), kTolerance) << name;
    }
  }
  if (Tensor want = get(ref, "seq_relationship_logits"); want.defined()) {
    EXPECT_LE(max_diff(out.seq_relationship_logits, want, Tensor(), "nsp"), kTolerance);
  }

  // No attention mask: transformers attends to every token (pads included).
  if (Tensor nm_ids = get(ref, "nomask_input_ids"); nm_ids.defined()) {
    auto [nm, nb] = run(model, nm_ids, Tensor(), Tensor(), Tensor());
    const Tensor want = get(ref, "nomask_output");
    Tensor got;
    if (model.config().head() == Head::QuestionAnswering) {
      got = unpack_padded(nm.start_logits, nb);
    } else if (nm.logits.defined() && nm.logits_per_token) {
      got = unpack_padded(nm.logits, nb);
    } else if (nm.logits.defined()) {   // sequence-level; multiple choice reshaped to [1, C]
      ASSERT_EQ(nm.logits.numel(), want.numel());
      got = nm.logits.reshaped(want.shape());
    } else {
      got = unpack_padded(nm.last_hidden_state, nb);
    }
    EXPECT_LE(max_diff(got, want, Tensor(), "nomask"), kTolerance);
  }
}

std::vector<fs::path> cases_in(const fs::path& root) {
  std::vector<fs::path> out;
  if (fs::is_directory(root))
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "reference.safetensors")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(Forward, MatchesTorchReferenceFixtures) {
  const auto cases = cases_in(ernie::testing::fixtures_dir());
  ASSERT_GE(cases.size(), 14u) << "tests/fixtures is incomplete; regenerate with tools/make_fixtures.py";
  for (const auto& c : cases) check_case(c);
}

TEST(Forward, MatchesTransformersGolden) {
  SKIP_WITHOUT_SHARED();
  const auto cases = cases_in(ernie::testing::shared_dir() / "golden");
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) check_case(c);
}

// The command the issue names: `ernie run --model DIR --inputs IN --outputs OUT` on reference cases.
TEST(RunCli, MatchesReferencesThroughTheCommand) {
  std::vector<fs::path> cases = {ernie::testing::fixtures_dir() / "bert_gelu_new_qa",
                                 ernie::testing::fixtures_dir() / "bert_quick_gelu_multiple_choice",
                                 ernie::testing::fixtures_dir() / "ernie_silu_pretraining"};
  if (!ernie::testing::shared_dir().empty())
    for (const auto& c : cases_in(ernie::testing::shared_dir() / "golden")) cases.push_back(c);
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.string());
    ernie::testing::TempDir tmp;
    const fs::path model = fs::is_directory(dir / "model") ? dir / "model" : dir;
    const auto r = ernie::testing::run_cli("run --model '" + model.string() + "' --inputs '" +
                                           (dir / "reference.safetensors").string() + "' --outputs '" +
                                           (tmp / "out.safetensors").string() + "'");
    ASSERT_EQ(r.status, 0) << r.err;
    const TensorFile out = read_safetensors(tmp / "out.safetensors");
    const TensorFile ref = read_safetensors(dir / "reference.safetensors");
    const Tensor mask = flat(get(ref, "attention_mask"));
    EXPECT_LE(max_diff(flat(get(out, "last_hidden_state")).reshaped(get(ref, "final_hidden").shape()),
                       get(ref, "final_hidden"), mask, "hidden"), kTolerance);
    for (const char* name : {"logits", "start_logits", "end_logits", "pooler_output", "seq_relationship_logits"}) {
      const Tensor want = get(ref, name);
      if (!want.defined()) continue;
      const Tensor got = get(out, name);
      ASSERT_TRUE(got.defined()) << name;
      const bool per_token = want.rank() >= 2 && want.dim(1) == mask.dim(1) && want.dim(0) == mask.dim(0);
      EXPECT_LE(max_diff(got, want, per_token ? mask : Tensor(), name), kTolerance) << name;
    }
    // Masked positions of the padded outputs are zeros.
    const Tensor hidden = get(out, "last_hidden_state");
    const std::vector<int64_t> m = mask.to_i64();
    const int64_t H = hidden.dim(-1);
    for (size_t i = 0; i < m.size(); ++i)
      if (m[i] == 0) {
        ASSERT_EQ(hidden.data<float>()[i * H], 0.0f);
      }
  }
}

TEST(RunCli, RaggedIdsFromJsonAndClearErrors) {
  const std::string model = (ernie::testing::fixtures_dir() / "ernie_relu_seqcls").string();
  auto ok = ernie::testing::run_cli("run --model '" + model + "' --ids '[[2, 17, 33], [2, 9]]'");
  ASSERT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.out.find("row 1: 2 tokens, label"), std::string::npos) << ok.out;

  auto bad = ernie::testing::run_cli("run --model '" + model + "' --ids '[[2, 17, 3000]]'");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("input_ids[0][2] = 3000 is outside [0, 120)"), std::string::npos) << bad.err;

  auto missing = ernie::testing::run_cli("run --model /nonexistent --ids '[[1]]'");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;

  auto both = ernie::testing::run_cli("run --model '" + model + "'");
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.err.find("exactly one of --inputs"), std::string::npos) << both.err;
}

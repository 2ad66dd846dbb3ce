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

struct RunResult {
  Outputs out;
  Batch batch;
};

RunResult run(const Model& model, const Tensor& ids, const Tensor& mask, const Tensor& types, const Tensor& tasks) {
  // Multiple-choice inputs [B, C, L] run as [B*C, L] rows.
  auto flat = [](const Tensor& t) {
    if (!t.defined() || t.rank() != 3) return t;
    Tensor copy = Tensor::empty(t.dtype(), {t.dim(0) * t.dim(1), t.dim(2)});
    std::memcpy(copy.raw(), t.raw(), t.nbytes());
    return copy;
  };
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
  const Tensor flat_mask = [&] {
    if (mask.rank() != 3) return mask;
    Tensor m = Tensor::empty(mask.dtype(), {mask.dim(0) * mask.dim(1), mask.dim(2)});
    std::memcpy(m.raw(), mask.raw(), mask.nbytes());
    return m;
  }();
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
      Tensor got = out.logits;
      if (want.shape() != got.shape()) {   // multiple choice: [B*C, 1] -> [B, C]
        Tensor r = Tensor::empty(DType::F32, want.shape());
        ASSERT_EQ(r.numel(), got.numel());
        std::memcpy(r.raw(), got.raw(), got.nbytes());
        got = r;
      }
      EXPECT_LE(max_diff(got, want, Tensor(), "logits"), kTolerance);
    }
  }
  for (const char* name : {"start_logits", "end_logits"}) {
    if (Tensor want = get(ref, name); want.defined()) {
      const Tensor& got = std::string(name) == "start_logits" ? out.start_logits : out.end_logits;
      ASSERT_TRUE(got.defined()) << name;
      EXPECT_LE(max_diff(unpack_padded(got, batch), want, flat_mask, name), kTolerance) << name;
    }
  }
  if (Tensor want = get(ref, "seq_relationship_logits"); want.defined())
    EXPECT_LE(max_diff(out.seq_relationship_logits, want, Tensor(), "nsp"), kTolerance);

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
      got = Tensor::empty(DType::F32, want.shape());
      ASSERT_EQ(got.numel(), nm.logits.numel());
      std::memcpy(got.raw(), nm.logits.raw(), got.nbytes());
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

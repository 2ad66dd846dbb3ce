// Loading checkpoints into a Model (names, spellings, refusals) and properties of the forward pass.
#include <gtest/gtest.h>

#include <cmath>

#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"
#include "test_util.h"

using namespace ernie;
namespace fs = std::filesystem;

namespace {

const fs::path kCase = ernie::testing::fixtures_dir() / "ernie_relu_seqcls";

std::map<std::string, Tensor> fixture_tensors() { return read_safetensors(kCase / "model.safetensors").tensors; }
Config fixture_config() { return load_config(kCase); }

std::string load_error(const std::map<std::string, Tensor>& tensors) {
  try {
    Model::from_tensors(fixture_config(), tensors);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Tensor deep_copy(const Tensor& t) { return t.to(t.dtype()); }

Batch batch_of(const std::vector<std::vector<int32_t>>& rows) {
  Batch b;
  b.rows = rows.size();
  b.offsets = {0};
  for (const auto& r : rows) {
    for (size_t j = 0; j < r.size(); ++j) {
      b.input_ids.push_back(r[j]);
      b.token_type_ids.push_back(j % 2);
      b.task_type_ids.push_back(1);
      b.position_ids.push_back(j);
      b.column.push_back(j);
    }
    b.offsets.push_back(b.input_ids.size());
  }
  return b;
}

}  // namespace

TEST(ModelLoad, RefusesMissingTensorByName) {
  auto t = fixture_tensors();
  t.erase("ernie.encoder.layer.1.output.dense.weight");
  EXPECT_NE(load_error(t).find("missing tensor ernie.encoder.layer.1.output.dense.weight"), std::string::npos)
      << load_error(t);
}

TEST(ModelLoad, RefusesWrongShapeByName) {
  auto t = fixture_tensors();
  t["classifier.weight"] = Tensor::zeros(DType::F32, {7, 28});
  const std::string err = load_error(t);
  EXPECT_NE(err.find("classifier.weight has shape [7, 28] but the config implies [3, 28]"), std::string::npos) << err;
}

TEST(ModelLoad, RefusesNaNAndInfByName) {
  for (float bad : {NAN, INFINITY}) {
    auto t = fixture_tensors();
    Tensor w = deep_copy(t.at("ernie.pooler.dense.bias"));
    w.data<float>()[3] = bad;
    t["ernie.pooler.dense.bias"] = w;
    const std::string err = load_error(t);
    EXPECT_NE(err.find("ernie.pooler.dense.bias contains"), std::string::npos) << err;
    EXPECT_NE(err.find("index 3"), std::string::npos) << err;
  }
}

TEST(ModelLoad, RefusesIntegerWeights) {
  auto t = fixture_tensors();
  t["ernie.pooler.dense.bias"] = Tensor::zeros(DType::I64, {28});
  EXPECT_FALSE(load_error(t).empty());
}

// Old spellings (LayerNorm.gamma/beta), another prefix, f16/bf16 storage and stale buffers all load
// to the same model.
TEST(ModelLoad, AcceptsAlternativeNamesAndDtypes) {
  const auto original = fixture_tensors();
  std::map<std::string, Tensor> renamed;
  for (const auto& [name, t] : original) {
    std::string n = name;
    if (n.rfind("ernie.", 0) == 0) n = "bert." + n.substr(6);
    if (n.size() > 16 && n.compare(n.size() - 16, 16, "LayerNorm.weight") == 0) n = n.substr(0, n.size() - 6) + "gamma";
    if (n.size() > 14 && n.compare(n.size() - 14, 14, "LayerNorm.bias") == 0) n = n.substr(0, n.size() - 4) + "beta";
    renamed[n] = t;
  }
  renamed["bert.embeddings.position_ids"] = Tensor::zeros(DType::I64, {1, 40});
  const Model a = Model::from_tensors(fixture_config(), original);
  const Model b = Model::from_tensors(fixture_config(), renamed);
  const Batch batch = batch_of({{2, 17, 33, 4}, {2, 9}});
  const Outputs oa = a.forward(batch), ob = b.forward(batch);
  for (int64_t i = 0; i < oa.logits.numel(); ++i) EXPECT_EQ(oa.logits.data<float>()[i], ob.logits.data<float>()[i]);

  std::map<std::string, Tensor> half;
  for (const auto& [name, t] : original) half[name] = t.to(DType::BF16);
  const Outputs oh = Model::from_tensors(fixture_config(), half).forward(batch);
  for (int64_t i = 0; i < oa.logits.numel(); ++i) EXPECT_NEAR(oa.logits.data<float>()[i], oh.logits.data<float>()[i], 0.1);
}

TEST(ModelLoad, NotesUnusedTensors) {
  auto t = fixture_tensors();
  t["cls.predictions.bias"] = Tensor::zeros(DType::F32, {120});
  const Model m = Model::from_tensors(fixture_config(), t);
  bool noted = false;
  for (const auto& n : m.load_notes()) noted |= n.find("unused tensor cls.predictions.bias") != std::string::npos;
  EXPECT_TRUE(noted);
}

// A batch of ragged rows gives each row what it gets alone: packing is exact, not approximate.
TEST(Forward, RaggedBatchEqualsRowsRunAlone) {
  const Model m = Model::load(kCase);
  const std::vector<std::vector<int32_t>> rows = {{2, 17, 33, 4, 8, 9, 10}, {2, 9}, {2, 50, 51, 52, 3}};
  const Outputs all = m.forward(batch_of(rows));
  int64_t offset = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const Outputs one = m.forward(batch_of({rows[r]}));
    const int64_t H = m.config().hidden_size;
    for (size_t t = 0; t < rows[r].size() * H; ++t)
      ASSERT_NEAR(all.last_hidden_state.data<float>()[offset * H + t], one.last_hidden_state.data<float>()[t], 1e-5);
    for (int64_t k = 0; k < m.config().num_labels(); ++k)
      ASSERT_NEAR(all.logits.data<float>()[r * m.config().num_labels() + k], one.logits.data<float>()[k], 1e-5);
    offset += rows[r].size();
  }
}

TEST(Forward, RejectsMalformedHandBuiltBatch) {
  const Model m = Model::load(kCase);
  Batch b = batch_of({{2, 3}});
  b.input_ids[1] = 100000;
  EXPECT_THROW(m.forward(b), Error);
  b = batch_of({{2, 3}});
  b.offsets.back() = 5;
  EXPECT_THROW(m.forward(b), Error);
}

TEST(ModelLoad, InitializedModelRoundTripsThroughAFolder) {
  ernie::testing::TempDir tmp;
  Config cfg = fixture_config();
  const auto params = init_parameters(cfg, 9);
  save_config(cfg, tmp / "config.json");
  write_safetensors(tmp / "model.safetensors", params);
  const Model m = Model::load(tmp.path());
  for (const auto& [name, t] : params)
    ASSERT_EQ(std::memcmp(m.parameters().at(name).raw(), t.raw(), t.nbytes()), 0) << name;
}

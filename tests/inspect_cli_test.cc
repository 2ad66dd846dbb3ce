// `ernie inspect` on safetensors files and model folders: the summary, --json, and the one-line
// errors for what is not a checkpoint.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "ernie/safetensors.h"
#include "ernie/tensor.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace ernie {
namespace {

using testing::TempDir;

TEST(InspectCli, SafetensorsFile) {
  TempDir dir;
  Tensor w = Tensor::empty(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i) w.data<float>()[i] = static_cast<float>(i + 1);  // mean 3.5
  Tensor ids = Tensor::empty(DType::I64, {3});
  ids.data<int64_t>()[0] = -1;
  ids.data<int64_t>()[1] = 5;
  ids.data<int64_t>()[2] = 2;
  write_safetensors(dir / "t.safetensors", {{"layer.weight", w}, {"ids", ids}});

  auto r = testing::run_cli("inspect '" + (dir / "t.safetensors").string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("layer.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[2, 3]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("F32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean 3.5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("std 1.70783"), std::string::npos) << r.out;  // sqrt(35/12)
  EXPECT_NE(r.out.find("min -1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("9 parameters"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("48 bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("format=pt"), std::string::npos) << r.out;

  auto j = testing::run_cli("inspect --json '" + (dir / "t.safetensors").string() + "'");
  ASSERT_EQ(j.status, 0) << j.err;
  const nlohmann::json doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["total_parameters"], 9);
  EXPECT_EQ(doc["total_bytes"], 48);
  EXPECT_EQ(doc["num_tensors"], 2);
  EXPECT_FALSE(doc.contains("config"));
  ASSERT_EQ(doc["tensors"].size(), 2u);
  const auto& t0 = doc["tensors"][0];  // name order: "ids" first
  EXPECT_EQ(t0["name"], "ids");
  EXPECT_EQ(t0["dtype"], "I64");
  EXPECT_EQ(t0["min"], -1);
  EXPECT_EQ(t0["max"], 5);
  const auto& t1 = doc["tensors"][1];
  EXPECT_EQ(t1["shape"], nlohmann::json({2, 3}));
  EXPECT_DOUBLE_EQ(t1["mean"].get<double>(), 3.5);
  EXPECT_NEAR(t1["std"].get<double>(), std::sqrt(35.0 / 12.0), 1e-12);
}

TEST(InspectCli, Errors) {
  TempDir dir;
  testing::write_file(dir / "notes.txt", "hello, not a checkpoint");
  auto r = testing::run_cli("inspect '" + (dir / "notes.txt").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown file type"), std::string::npos) << r.err;

  r = testing::run_cli("inspect '" + (dir / "absent.safetensors").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;

  testing::write_file(dir / "trunc.safetensors", "abc");
  r = testing::run_cli("inspect '" + (dir / "trunc.safetensors").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("truncated file"), std::string::npos) << r.err;

  fs::create_directory(dir / "folder");
  r = testing::run_cli("inspect '" + (dir / "folder").string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no model.safetensors"), std::string::npos) << r.err;

  r = testing::run_cli("inspect");
  EXPECT_NE(r.status, 0);  // PATH is required
}

TEST(InspectCli, ModelFolder) {
  SKIP_WITHOUT_SHARED();
  const fs::path model = testing::shared_dir() / "golden" / "bert_mlm" / "model";
  if (!fs::exists(model / "config.json")) GTEST_SKIP() << model << " is absent";
  auto r = testing::run_cli("inspect '" + model.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("config: bert"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ForMaskedLM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bert.embeddings.word_embeddings.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[3000, 32]"), std::string::npos) << r.out;

  auto j = testing::run_cli("inspect --json '" + model.string() + "'");
  ASSERT_EQ(j.status, 0) << j.err;
  const nlohmann::json doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["config"]["model_type"], "bert");
  EXPECT_EQ(doc["config"]["hidden_size"], 32);
  EXPECT_EQ(doc["config"]["num_hidden_layers"], 2);
  EXPECT_EQ(doc["config"]["num_attention_heads"], 2);
  EXPECT_EQ(doc["config"]["head"], "ForMaskedLM");
  EXPECT_GT(doc["total_parameters"].get<int64_t>(), 3000 * 32);
}

}  // namespace
}  // namespace ernie

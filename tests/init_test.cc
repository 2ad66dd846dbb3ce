// Initialization: the counter-based RNG, HF/PaddleNLP init rules, statistics and determinism.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "ernie/config.h"
#include "ernie/init.h"
#include "ernie/params.h"
#include "ernie/rng.h"
#include "ernie/safetensors.h"
#include "test_util.h"

using namespace ernie;

namespace {

Config seed_config() { return load_config(ernie::testing::source_dir() / "configs" / "ernie-1.0-base-zh.json"); }

struct Stats {
  double mean = 0, std = 0, within1 = 0, within2 = 0;
};
Stats stats(const Tensor& t, double sigma) {
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  double sum = 0, sq = 0;
  int64_t in1 = 0, in2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += p[i];
    sq += static_cast<double>(p[i]) * p[i];
    in1 += std::fabs(p[i]) <= sigma;
    in2 += std::fabs(p[i]) <= 2 * sigma;
  }
  Stats s;
  s.mean = sum / n;
  s.std = std::sqrt(sq / n - s.mean * s.mean);
  s.within1 = static_cast<double>(in1) / n;
  s.within2 = static_cast<double>(in2) / n;
  return s;
}

}  // namespace

// Known-answer vectors published with Random123 (kat_vectors, philox4x32_10).
TEST(Rng, Philox4x32KnownAnswers) {
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, {0, 0}),
            (std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Rng, NormalHasStandardMoments) {
  const CounterRng rng(7, 1);
  const int n = 1 << 20;
  double sum = 0, sq = 0, in1 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal(i);
    sum += z;
    sq += z * z;
    in1 += std::fabs(z) <= 1.0;
  }
  EXPECT_NEAR(sum / n, 0.0, 5e-3);
  EXPECT_NEAR(sq / n, 1.0, 5e-3);
  EXPECT_NEAR(in1 / n, 0.6827, 2e-3);
}

TEST(Init, SeedConfigHasHuggingFaceNamesShapesAndStatistics) {
  const Config cfg = seed_config();
  const auto params = init_parameters(cfg, 42);
  const auto specs = parameter_specs(cfg);
  ASSERT_EQ(params.size(), specs.size());
  EXPECT_EQ(count_parameters(specs), 99878413);

  const Tensor& word = params.at("ernie.embeddings.word_embeddings.weight");
  EXPECT_EQ(word.shape(), (Shape{18000, 768}));
  const Tensor& pos = params.at("ernie.embeddings.position_embeddings.weight");
  EXPECT_EQ(pos.shape(), (Shape{513, 768}));
  EXPECT_EQ(params.at("ernie.embeddings.task_type_embeddings.weight").shape(), (Shape{3, 768}));
  EXPECT_EQ(params.at("ernie.encoder.layer.11.attention.self.query.weight").shape(), (Shape{768, 768}));
  EXPECT_EQ(params.at("ernie.encoder.layer.0.intermediate.dense.weight").shape(), (Shape{3072, 768}));
  EXPECT_EQ(params.at("ernie.pooler.dense.weight").shape(), (Shape{768, 768}));
  EXPECT_EQ(params.at("classifier.weight").shape(), (Shape{13, 768}));

  // N(0, 0.02): mean, std and the 68/95 rule on the big tables.
  for (const char* name : {"ernie.embeddings.position_embeddings.weight", "ernie.encoder.layer.3.output.dense.weight",
                           "ernie.embeddings.word_embeddings.weight"}) {
    const Stats s = stats(params.at(name), 0.02);
    EXPECT_NEAR(s.mean, 0.0, 2e-4) << name;
    EXPECT_NEAR(s.std, 0.02, 2e-4) << name;
    EXPECT_NEAR(s.within1, 0.6827, 5e-3) << name;
    EXPECT_NEAR(s.within2, 0.9545, 3e-3) << name;
  }
  // Row pad_token_id (0) of the word embeddings is zero; row 1 is not.
  const float* w = word.data<float>();
  for (int j = 0; j < 768; ++j) ASSERT_EQ(w[j], 0.0f);
  double row1 = 0;
  for (int j = 0; j < 768; ++j) row1 += std::fabs(w[768 + j]);
  EXPECT_GT(row1, 1.0);
  // Biases 0, LayerNorm 1 / 0.
  for (float v : std::vector<float>(params.at("ernie.encoder.layer.0.attention.self.key.bias").data<float>(),
                                    params.at("ernie.encoder.layer.0.attention.self.key.bias").data<float>() + 768))
    ASSERT_EQ(v, 0.0f);
  EXPECT_EQ(params.at("ernie.embeddings.LayerNorm.weight").data<float>()[100], 1.0f);
  EXPECT_EQ(params.at("ernie.embeddings.LayerNorm.bias").data<float>()[100], 0.0f);
  EXPECT_EQ(params.at("classifier.bias").data<float>()[12], 0.0f);
}

TEST(Init, PaddleRulesDrawThePadRow) {
  Config cfg = parse_config(R"({"model_type": "bert", "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
                                "num_attention_heads": 2, "intermediate_size": 32})");
  const auto hf = init_parameters(cfg, 3, InitStyle::HuggingFace);
  const auto pd = init_parameters(cfg, 3, InitStyle::PaddleNLP);
  const float* a = hf.at("embeddings.word_embeddings.weight").data<float>();
  const float* b = pd.at("embeddings.word_embeddings.weight").data<float>();
  EXPECT_EQ(a[0], 0.0f);
  EXPECT_NE(b[0], 0.0f);
  EXPECT_EQ(a[16], b[16]);   // other rows identical
}

TEST(Init, SameSeedSameBytesOnAnyThreadCount) {
  Config cfg = parse_config(R"({"model_type": "ernie", "vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 2,
                                "num_attention_heads": 4, "intermediate_size": 64, "use_task_id": true})");
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = init_parameters(cfg, 11);
  omp_set_num_threads(4);
  const auto four = init_parameters(cfg, 11);
  omp_set_num_threads(saved);
  const auto other = init_parameters(cfg, 12);
  for (const auto& [name, t] : one) {
    ASSERT_EQ(std::memcmp(t.raw(), four.at(name).raw(), t.nbytes()), 0) << name;
  }
  const Tensor& q = one.at("encoder.layer.1.attention.self.query.weight");
  EXPECT_NE(std::memcmp(q.raw(), other.at("encoder.layer.1.attention.self.query.weight").raw(), q.nbytes()), 0);
  // Different tensors draw different streams.
  EXPECT_NE(std::memcmp(q.raw(), one.at("encoder.layer.1.attention.self.key.weight").raw(), q.nbytes()), 0);
}

TEST(Init, RobertaZeroesThePadRowOfPositions) {
  Config cfg = parse_config(R"({"model_type": "roberta", "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
                                "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 20,
                                "architectures": ["RobertaForMaskedLM"]})");
  const auto p = init_parameters(cfg, 1);
  const float* pos = p.at("roberta.embeddings.position_embeddings.weight").data<float>();
  for (int j = 0; j < 16; ++j) EXPECT_EQ(pos[1 * 16 + j], 0.0f);   // pad_token_id 1
  EXPECT_TRUE(p.count("lm_head.bias"));
  EXPECT_FALSE(p.count("lm_head.decoder.weight"));                   // tied
  EXPECT_FALSE(p.count("roberta.pooler.dense.weight"));              // no pooler for MLM
}

// The fixed table against the one the independent PyTorch reference stored (Marian's formula).
TEST(Init, SinusoidalTableMatchesTorchReference) {
  const auto dir = ernie::testing::fixtures_dir() / "ernie_sinusoidal_model";
  const TensorFile f = read_safetensors(dir / "model.safetensors");
  const Tensor& want = f.tensors.at("ernie.embeddings.position_embeddings.weight");
  Tensor got = Tensor::empty(DType::F32, want.shape());
  fill_sinusoidal(got.data<float>(), want.dim(0), want.dim(1));
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-6) << "element " << i;
}

TEST(InitCli, WritesHuggingFaceFolderByteIdenticalForSameSeed) {
  ernie::testing::TempDir tmp;
  const std::string cfg = (ernie::testing::source_dir() / "configs" / "ernie-1.0-base-zh.json").string();
  auto a = ernie::testing::run_cli("init --config '" + cfg + "' --seed 5 --out '" + (tmp / "a").string() + "'");
  ASSERT_EQ(a.status, 0) << a.err;
  auto b = ernie::testing::run_cli("init --config '" + cfg + "' --seed 5 --out '" + (tmp / "b").string() + "'");
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(ernie::testing::read_file(tmp / "a" / "model.safetensors"),
            ernie::testing::read_file(tmp / "b" / "model.safetensors"));
  const TensorFile f = read_safetensors(tmp / "a" / "model.safetensors");
  EXPECT_EQ(f.tensors.size(), parameter_specs(seed_config()).size());
  EXPECT_EQ(f.metadata.at("format"), "pt");
  // The written config names the architecture and loads back with the same sizes.
  const Config back = load_config(tmp / "a");
  EXPECT_EQ(back.architectures.at(0), "ErnieForSequenceClassification");
  EXPECT_EQ(back.num_labels(), 13);
  EXPECT_EQ(back.max_position_embeddings, 513);
  EXPECT_TRUE(back.use_task_id);
}

// The fast paths against straightforward references:
// * kernels: fused linear (bias + activation / residual), int8 weight quantization, attention;
// * a full-size model (the seed config, 768 hidden x 12 layers, weights generated from a seed)
//   through Model::forward against a plain reference forward written here (naive loops,
//   double-precision softmax and LayerNorm): 1e-4;
// * bf16 and int8 against fp32 on the same model (cosine >= 0.999 for bf16, int8 labels agree),
//   and an `ernie quantize` checkpoint that loads into the int8 path with the same outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "ernie/init.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"
#include "kernels/kernels.h"
#include "test_util.h"

using namespace ernie;
using ernie::testing::randn;

namespace {

// y[M, N] = x[M, K] · W[N, K]ᵀ + b, naive (omp simd dot products).
void ref_linear(const float* x, const float* W, const float* b, float* y, int64_t M, int64_t K, int64_t N) {
#pragma omp parallel for collapse(2)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float s = 0.0f;
      const float* xr = x + m * K;
      const float* wr = W + n * K;
#pragma omp simd reduction(+ : s)
      for (int64_t k = 0; k < K; ++k) s += xr[k] * wr[k];
      y[m * N + n] = s + (b ? b[n] : 0.0f);
    }
}

void ref_layer_norm(float* x, const float* g, const float* b, int64_t M, int64_t H, double eps) {
  for (int64_t m = 0; m < M; ++m) {
    float* r = x + m * H;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < H; ++j) mean += r[j];
    mean /= H;
    for (int64_t j = 0; j < H; ++j) var += (r[j] - mean) * (r[j] - mean);
    var /= H;
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < H; ++j) r[j] = static_cast<float>((r[j] - mean) * inv * g[j] + b[j]);
  }
}

double max_abs_diff(const float* a, const float* b, int64_t n) {
  double w = 0;
  for (int64_t i = 0; i < n; ++i) w = std::max(w, std::fabs(static_cast<double>(a[i]) - b[i]));
  return w;
}

double cosine(const float* a, const float* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// The plain reference forward of a post-LN BERT/ERNIE encoder with absolute positions and a
// relu FFN (the seed config): returns last_hidden_state [T, H].
std::vector<float> reference_forward(const Config& cfg, const std::map<std::string, Tensor>& p, const Batch& batch) {
  const int64_t T = batch.tokens(), H = cfg.hidden_size, I = cfg.intermediate_size, nh = cfg.num_attention_heads,
                d = cfg.head_dim();
  const std::string pre = cfg.base_prefix() + ".";
  auto W = [&](const std::string& n) { return p.at(pre + n).data<float>(); };
  std::vector<float> x(T * H);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < H; ++j)
      x[t * H + j] = W("embeddings.word_embeddings.weight")[batch.input_ids[t] * H + j] +
                     W("embeddings.token_type_embeddings.weight")[batch.token_type_ids[t] * H + j] +
                     W("embeddings.position_embeddings.weight")[batch.position_ids[t] * H + j] +
                     (cfg.use_task_id ? W("embeddings.task_type_embeddings.weight")[batch.task_type_ids[t] * H + j]
                                      : 0.0f);
  ref_layer_norm(x.data(), W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), T, H, cfg.layer_norm_eps);
  std::vector<float> q(T * H), k(T * H), v(T * H), ctx(T * H), tmp(T * H), ffn(T * I);
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string L = "encoder.layer." + std::to_string(l) + ".";
    ref_linear(x.data(), W(L + "attention.self.query.weight"), W(L + "attention.self.query.bias"), q.data(), T, H, H);
    ref_linear(x.data(), W(L + "attention.self.key.weight"), W(L + "attention.self.key.bias"), k.data(), T, H, H);
    ref_linear(x.data(), W(L + "attention.self.value.weight"), W(L + "attention.self.value.bias"), v.data(), T, H, H);
    for (int64_t s = 0; s < batch.rows; ++s) {
      const int64_t b0 = batch.offsets[s], n = batch.length(s);
      for (int64_t h = 0; h < nh; ++h)
        for (int64_t i = 0; i < n; ++i) {
          std::vector<double> sc(n);
          double mx = -1e300, sum = 0;
          for (int64_t j = 0; j < n; ++j) {
            double dot = 0;
            for (int64_t c = 0; c < d; ++c) dot += q[(b0 + i) * H + h * d + c] * k[(b0 + j) * H + h * d + c];
            sc[j] = dot / std::sqrt(static_cast<double>(d));
            mx = std::max(mx, sc[j]);
          }
          for (auto& e : sc) sum += (e = std::exp(e - mx));
          for (int64_t c = 0; c < d; ++c) {
            double o = 0;
            for (int64_t j = 0; j < n; ++j) o += sc[j] * v[(b0 + j) * H + h * d + c];
            ctx[(b0 + i) * H + h * d + c] = static_cast<float>(o / sum);
          }
        }
    }
    ref_linear(ctx.data(), W(L + "attention.output.dense.weight"), W(L + "attention.output.dense.bias"), tmp.data(),
               T, H, H);
    for (int64_t i = 0; i < T * H; ++i) x[i] += tmp[i];
    ref_layer_norm(x.data(), W(L + "attention.output.LayerNorm.weight"), W(L + "attention.output.LayerNorm.bias"), T,
                   H, cfg.layer_norm_eps);
    ref_linear(x.data(), W(L + "intermediate.dense.weight"), W(L + "intermediate.dense.bias"), ffn.data(), T, H, I);
    for (auto& e : ffn) e = e > 0 ? e : 0;
    ref_linear(ffn.data(), W(L + "output.dense.weight"), W(L + "output.dense.bias"), tmp.data(), T, I, H);
    for (int64_t i = 0; i < T * H; ++i) x[i] += tmp[i];
    ref_layer_norm(x.data(), W(L + "output.LayerNorm.weight"), W(L + "output.LayerNorm.bias"), T, H,
                   cfg.layer_norm_eps);
  }
  return x;
}

Batch random_batch(const Config& cfg, const std::vector<int64_t>& lengths, uint64_t seed) {
  const int64_t B = static_cast<int64_t>(lengths.size());
  int64_t L = 0;
  for (auto n : lengths) L = std::max(L, n);
  Tensor ids = Tensor::zeros(DType::I64, {B, L}), mask = Tensor::zeros(DType::I64, {B, L});
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> id(5, cfg.vocab_size - 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) {
      ids.data<int64_t>()[b * L + t] = id(rng);
      mask.data<int64_t>()[b * L + t] = 1;
    }
  return pack_padded(PaddedInputs{ids, mask, Tensor(), Tensor()}, cfg);
}

Config seed_config() { return load_config(ernie::testing::source_dir() / "configs" / "ernie-1.0-base-zh.json"); }

// One full-size model for the whole file (initializing 100M parameters takes a moment).
struct FullSize {
  Config cfg = seed_config();
  std::map<std::string, Tensor> params = init_parameters(cfg, 7);
  Model model = Model::from_tensors(cfg, params);
};
FullSize& full_size() {
  static FullSize f;
  return f;
}

}  // namespace

TEST(KernelsFast, FusedLinearMatchesNaive) {
  const int64_t K = 96, N = 80;
  const auto W = randn(N * K, 1, 0.1f), b = randn(N, 2);
  const auto packed = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::F32);
  for (int64_t M : {1, 7, 33}) {   // one primitive, runtime row count
    const auto x = randn(M * K, 3 + M);
    std::vector<float> want(M * N), got(M * N), acc = randn(M * N, 99);
    ref_linear(x.data(), W.data(), b.data(), want.data(), M, K, N);
    kernels::linear(*packed, x.data(), got.data(), M);
    EXPECT_LE(max_abs_diff(got.data(), want.data(), M * N), 1e-5) << M;
    kernels::linear(*packed, x.data(), got.data(), M, Activation::Relu);
    std::vector<float> relu = want;
    for (auto& e : relu) e = std::max(e, 0.0f);
    EXPECT_LE(max_abs_diff(got.data(), relu.data(), M * N), 1e-5) << M;
    kernels::linear(*packed, x.data(), got.data(), M, Activation::Gelu);
    std::vector<float> gelu = want;
    for (auto& e : gelu) e = 0.5f * e * (1.0f + std::erf(e / std::sqrt(2.0f)));
    EXPECT_LE(max_abs_diff(got.data(), gelu.data(), M * N), 1e-5) << M;
    std::vector<float> sum = acc;
    for (int64_t i = 0; i < M * N; ++i) sum[i] += want[i];
    kernels::linear(*packed, x.data(), acc.data(), M, Activation::Linear, /*accumulate=*/true);
    EXPECT_LE(max_abs_diff(acc.data(), sum.data(), M * N), 1e-5) << M;
  }
}

TEST(KernelsFast, Int8LinearIsCloseAndRangeIsSevenBit) {
  const int64_t K = 256, N = 64, M = 9;
  const auto W = randn(N * K, 4, 0.05f), b = randn(N, 5), x = randn(M * K, 6);
  std::vector<int8_t> q(N * K);
  std::vector<float> s(N);
  kernels::quantize_weights(W.data(), K, N, q.data(), s.data());
  for (int8_t e : q) ASSERT_TRUE(e >= -63 && e <= 63);
  const auto packed = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::S8);
  std::vector<float> want(M * N), got(M * N);
  ref_linear(x.data(), W.data(), b.data(), want.data(), M, K, N);
  kernels::linear(*packed, x.data(), got.data(), M);
  EXPECT_GE(cosine(got.data(), want.data(), M * N), 0.999);
  EXPECT_LE(max_abs_diff(got.data(), want.data(), M * N), 0.05);
}

TEST(KernelsFast, AttentionMatchesNaiveAcrossQueryBlocks) {
  const int64_t heads = 2, d = 16, W = heads * d;
  const std::vector<int64_t> offsets = {0, 1, 6, 6 + 150};   // 150 rows: two query blocks
  const int64_t T = offsets.back();
  const auto q = randn(T * W, 7), k = randn(T * W, 8), v = randn(T * W, 9);
  std::vector<float> ctx(T * W), want(T * W);
  kernels::AttentionArgs a;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.ctx = ctx.data();
  a.offsets = offsets.data();
  a.sequences = 3;
  a.heads = heads;
  a.head_dim = d;
  a.scale = 0.25f;
  a.distance = nullptr;
  a.column = nullptr;
  kernels::attention(a);
  for (int64_t s = 0; s < 3; ++s)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = offsets[s]; i < offsets[s + 1]; ++i) {
        std::vector<double> p;
        double mx = -1e300, sum = 0;
        for (int64_t j = offsets[s]; j < offsets[s + 1]; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += q[i * W + h * d + c] * k[j * W + h * d + c];
          p.push_back(dot * 0.25);
          mx = std::max(mx, p.back());
        }
        for (auto& e : p) sum += (e = std::exp(e - mx));
        for (int64_t c = 0; c < d; ++c) {
          double o = 0;
          for (int64_t j = offsets[s]; j < offsets[s + 1]; ++j) o += p[j - offsets[s]] * v[j * W + h * d + c];
          want[i * W + h * d + c] = static_cast<float>(o / sum);
        }
      }
  EXPECT_LE(max_abs_diff(ctx.data(), want.data(), T * W), 1e-5);
}

TEST(KernelsFast, FullSizeModelMatchesPlainReference) {
  FullSize& f = full_size();
  ASSERT_EQ(f.cfg.hidden_size, 768);
  ASSERT_EQ(f.cfg.num_hidden_layers, 12);
  const Batch batch = random_batch(f.cfg, {1, 9, 130}, 11);   // 130: two attention query blocks
  const Outputs out = f.model.forward(batch);
  const std::vector<float> want = reference_forward(f.cfg, f.params, batch);
  EXPECT_LE(max_abs_diff(out.last_hidden_state.data<float>(), want.data(), static_cast<int64_t>(want.size())), 1e-4);
}

TEST(KernelsFast, Bf16AndInt8StayCloseToFp32) {
  FullSize& f = full_size();
  const Batch batch = random_batch(f.cfg, {16, 64, 128, 37}, 12);
  const Outputs ref = f.model.forward(batch);
  const int64_t n = ref.last_hidden_state.numel();
  Model m = f.model;   // shares the parameters; set_compute_type prepares its own copies
  m.set_compute_type(ComputeType::BF16);
  const Outputs bf = m.forward(batch);
  EXPECT_GE(cosine(bf.last_hidden_state.data<float>(), ref.last_hidden_state.data<float>(), n), 0.999);
  EXPECT_GE(cosine(bf.pooler_output.data<float>(), ref.pooler_output.data<float>(), ref.pooler_output.numel()), 0.999);
  m.set_compute_type(ComputeType::Int8);
  const Outputs q = m.forward(batch);
  EXPECT_GE(cosine(q.last_hidden_state.data<float>(), ref.last_hidden_state.data<float>(), n), 0.99);
  const int64_t labels = f.cfg.num_labels();
  for (int64_t b = 0; b < batch.rows; ++b) {
    const float* zr = ref.logits.data<float>() + b * labels;
    const float* zq = q.logits.data<float>() + b * labels;
    EXPECT_EQ(std::max_element(zr, zr + labels) - zr, std::max_element(zq, zq + labels) - zq) << b;
  }
  m.set_compute_type(ComputeType::F32);   // back to exact
  EXPECT_EQ(max_abs_diff(m.forward(batch).last_hidden_state.data<float>(), ref.last_hidden_state.data<float>(), n), 0.0);
}

namespace {
// The seed config made small (2 layers of hidden 128), initialized into `model_dir` and quantized
// by `ernie quantize` into `q_dir`.
void small_model_and_its_int8_checkpoint(const std::filesystem::path& dir, const std::filesystem::path& model_dir,
                                         const std::filesystem::path& q_dir) {
  auto cfg_json = nlohmann::json::parse(
      ernie::testing::read_file(ernie::testing::source_dir() / "configs" / "ernie-1.0-base-zh.json"));
  cfg_json["num_hidden_layers"] = 2;
  cfg_json["hidden_size"] = 128;
  cfg_json["num_attention_heads"] = 4;
  cfg_json["intermediate_size"] = 512;
  ernie::testing::write_file(dir / "small.json", cfg_json.dump());
  const auto init = ernie::testing::run_cli("init --config " + (dir / "small.json").string() + " --seed 3 --out " +
                                            model_dir.string());
  ASSERT_EQ(init.status, 0) << init.err;
  const auto r = ernie::testing::run_cli("quantize --model " + model_dir.string() + " --out " + q_dir.string());
  ASSERT_EQ(r.status, 0) << r.err;
}
}  // namespace

TEST(KernelsFast, QuantizedCheckpointLoadsIntoTheInt8Path) {
  ernie::testing::TempDir dir;
  const auto model_dir = dir / "m", q_dir = dir / "q";
  small_model_and_its_int8_checkpoint(dir.path(), model_dir, q_dir);
  if (::testing::Test::HasFatalFailure()) return;
  Model fp = Model::load(model_dir);
  const Model q = Model::load(q_dir);
  EXPECT_EQ(q.compute_type(), ComputeType::Int8);
  EXPECT_LT(std::filesystem::file_size(q_dir / "model.safetensors"),
            std::filesystem::file_size(model_dir / "model.safetensors"));   // embeddings dominate this small one
  fp.set_compute_type(ComputeType::Int8);
  const Batch batch = random_batch(fp.config(), {12, 30}, 5);
  const Outputs a = fp.forward(batch), b = q.forward(batch);
  EXPECT_LE(max_abs_diff(a.last_hidden_state.data<float>(), b.last_hidden_state.data<float>(),
                         a.last_hidden_state.numel()),
            1e-5);
  const auto bench = ernie::testing::run_cli("bench --model " + q_dir.string() + " --batch 2 --seq-len 16 --iters 1 --json");
  ASSERT_EQ(bench.status, 0) << bench.err;
  EXPECT_NE(bench.out.find("\"seq_per_s\""), std::string::npos);
  EXPECT_NE(bench.out.find("\"dtype\":\"int8\""), std::string::npos);
}

// Model::load(dir, type) packs straight into `type` and keeps no fp32 copy: the same outputs, bit
// for bit, as loading with fp32 kept and switching, for fp32 and int8 checkpoints alike.
TEST(KernelsFast, LoadedForOneTypeComputesAsSwitchingDoesAndKeepsNoFp32) {
  ernie::testing::TempDir dir;
  const auto model_dir = dir / "m", q_dir = dir / "q";
  small_model_and_its_int8_checkpoint(dir.path(), model_dir, q_dir);
  if (::testing::Test::HasFatalFailure()) return;
  const Batch batch = random_batch(Model::load(model_dir).config(), {9, 33, 1}, 8);
  auto same = [](const Outputs& a, const Outputs& b) {
    EXPECT_EQ(a.last_hidden_state.shape(), b.last_hidden_state.shape());
    EXPECT_EQ(std::memcmp(a.last_hidden_state.data<float>(), b.last_hidden_state.data<float>(),
                          a.last_hidden_state.numel() * sizeof(float)),
              0);
    EXPECT_EQ(std::memcmp(a.logits.data<float>(), b.logits.data<float>(), a.logits.numel() * sizeof(float)), 0);
  };
  for (const auto& folder : {model_dir, q_dir}) {
    for (const ComputeType t : {ComputeType::F32, ComputeType::BF16, ComputeType::Int8}) {
      SCOPED_TRACE(folder.filename().string() + " " + compute_type_name(t));
      Model kept = Model::load(folder);
      kept.set_compute_type(t);
      Model only = Model::load(folder, t);
      EXPECT_EQ(only.compute_type(), t);
      same(kept.forward(batch), only.forward(batch));
      only.set_compute_type(t);   // its own type: nothing to do
      if (t == ComputeType::F32) {
        EXPECT_EQ(only.parameters().size(), kept.parameters().size());
        continue;
      }
      const std::string name = compute_type_name(t);
      EXPECT_EQ(ernie::testing::error_of([&] { only.parameters(); }),
                "this model was loaded for " + name +
                    " only and keeps no fp32 copy of its encoder weights; load it without a compute type to read or "
                    "save its parameters");
      EXPECT_EQ(ernie::testing::error_of([&] { only.set_compute_type(ComputeType::F32); }),
                "this model was loaded for " + name + " only; load it again for f32");
      same(kept.forward(batch), only.forward(batch));   // still usable after the refusals
    }
  }
  // The CLI's inference commands load this way; bench reports what stays resident.
  const auto bench =
      ernie::testing::run_cli("bench --model " + model_dir.string() + " --dtype bf16 --batch 2 --seq-len 16 --iters 1 --json");
  ASSERT_EQ(bench.status, 0) << bench.err;
  const auto j = nlohmann::json::parse(bench.out);
  EXPECT_EQ(j.at("dtype"), "bf16");
  EXPECT_GT(j.at("rss_loaded_mib").get<double>(), 0.0);
  EXPECT_GE(j.at("rss_peak_mib").get<double>(), j.at("rss_loaded_mib").get<double>());
}

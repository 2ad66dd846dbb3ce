// Packed Linear layers (kernels::pack_linear + kernels::linear) against a naive GEMM written here,
// for every kernel (libxsmm panels, oneDNN blocked), row counts around every row block and row
// bucket boundary, partial column panels, fused bias / activation / residual; the packed copy
// unpacks to exactly the original; results are bit-for-bit repeatable, and with libxsmm a row's
// result does not depend on the other rows of the batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/model.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "test_util.h"

using namespace ernie;
using ernie::testing::randn;

namespace {

// y[M, N] = act(x · Wᵀ + b) (+ y0), in double.
std::vector<double> naive(const std::vector<float>& x, const std::vector<float>& W, const std::vector<float>& b,
                          int64_t M, int64_t K, int64_t N, Activation act, const std::vector<float>* y0) {
  std::vector<double> y(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = b.empty() ? 0.0 : b[n];
      for (int64_t k = 0; k < K; ++k) s += static_cast<double>(x[m * K + k]) * W[n * K + k];
      switch (act) {
        case Activation::Relu: s = s > 0 ? s : 0; break;
        case Activation::Gelu: s = 0.5 * s * (1 + std::erf(s / std::sqrt(2.0))); break;
        case Activation::GeluNew:
          s = 0.5 * s * (1 + std::tanh(std::sqrt(2 / M_PI) * (s + 0.044715 * s * s * s)));
          break;
        case Activation::Silu: s = s / (1 + std::exp(-s)); break;
        case Activation::Tanh: s = std::tanh(s); break;
        default: break;
      }
      y[m * N + n] = s + (y0 ? (*y0)[m * N + n] : 0.0);
    }
  return y;
}

double max_err(const std::vector<float>& got, const std::vector<double>& want) {
  double e = 0;
  for (size_t i = 0; i < want.size(); ++i) e = std::max(e, std::fabs(got[i] - want[i]));
  return e;
}

std::vector<float> bf16_rounded(std::vector<float> v) {
  for (float& e : v) {
    uint32_t u;
    std::memcpy(&u, &e, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    std::memcpy(&e, &u, 4);
  }
  return v;
}

// The kernels this build and CPU have for fp32.
std::vector<kernels::LinearKernel> fp32_kernels() {
  std::vector<kernels::LinearKernel> k = {kernels::LinearKernel::Onednn};
  std::vector<float> W(4, 1.0f);
  if (ernie::testing::error_of([&] { kernels::pack_linear(W.data(), nullptr, 2, 2, kernels::MatType::F32,
                                                          kernels::LinearKernel::Libxsmm); }).empty())
    k.push_back(kernels::LinearKernel::Libxsmm);
  return k;
}

// Row counts around the libxsmm row block (64), the oneDNN row buckets (16, 128..512 chunks) and
// the switch between them for K > 1024 (16, 256).
const std::vector<int64_t> kRows = {1, 2, 15, 16, 17, 63, 64, 65, 100, 127, 128, 129, 256, 257, 300, 385, 511, 512, 513, 700};

}  // namespace

TEST(LinearPacked, Fp32MatchesNaiveGemmForEveryKernelAndRowCount) {
  struct Shape {
    int64_t K, N;
  };
  // N = 200 and 130: a last column panel narrower than 64; K = 50: no multiple of a vector;
  // K = 1040, N = 128: the panels double as oneDNN's brgemm layout, used for 16-256 rows.
  for (const Shape s : {Shape{768, 200}, Shape{50, 130}, Shape{96, 64}, Shape{1040, 128}}) {
    const auto W = randn(s.N * s.K, 1, 0.05f), b = randn(s.N, 2);
    for (const auto kernel : fp32_kernels()) {
      const auto p = kernels::pack_linear(W.data(), b.data(), s.K, s.N, kernels::MatType::F32, kernel);
      SCOPED_TRACE(kernels::packed_kernel(*p) + " K " + std::to_string(s.K) + " N " + std::to_string(s.N));
      std::vector<float> back(s.N * s.K);
      kernels::unpack_linear(*p, back.data());
      ASSERT_EQ(std::memcmp(back.data(), W.data(), W.size() * sizeof(float)), 0);   // exact round trip
      for (const int64_t M : kRows) {
        const auto x = randn(M * s.K, 3 + M);
        std::vector<float> y(M * s.N);
        kernels::linear(*p, x.data(), y.data(), M);
        std::vector<double> want = naive(x, W, b, M, s.K, s.N, Activation::Linear, nullptr);
        EXPECT_LE(max_err(y, want), 2e-5) << M;
        std::vector<float> again(M * s.N);
        kernels::linear(*p, x.data(), again.data(), M);
        ASSERT_EQ(std::memcmp(y.data(), again.data(), y.size() * sizeof(float)), 0) << M;   // repeatable
        const auto y0 = randn(M * s.N, 50 + M);   // the fused residual: y0 + x · Wᵀ + b
        y = y0;
        kernels::linear(*p, x.data(), y.data(), M, Activation::Linear, /*accumulate=*/true);
        for (size_t i = 0; i < want.size(); ++i) want[i] += y0[i];
        EXPECT_LE(max_err(y, want), 2e-5) << M;
      }
      for (const Activation act :
           {Activation::Relu, Activation::Gelu, Activation::GeluNew, Activation::Silu, Activation::Tanh}) {
        for (const int64_t M : {1, 17, 129}) {
          const auto x = randn(M * s.K, 7 + M);
          std::vector<float> y(M * s.N);
          kernels::linear(*p, x.data(), y.data(), M, act);
          EXPECT_LE(max_err(y, naive(x, W, b, M, s.K, s.N, act, nullptr)), 2e-5) << M << " act " << int(act);
        }
      }
    }
  }
}

TEST(LinearPacked, Bf16AndInt8MatchTheirExactProductsAcrossRowBuckets) {
  const int64_t K = 256, N = 192;
  const auto W = randn(N * K, 11, 0.05f), b = randn(N, 12);
  const auto p16 = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::BF16);
  const auto p8 = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::S8);
  std::vector<int8_t> q(N * K);
  std::vector<float> sw(N);
  kernels::quantize_weights(W.data(), K, N, q.data(), sw.data());
  std::vector<float> back(N * K), Wq(N * K);
  kernels::unpack_linear(*p16, back.data());
  EXPECT_EQ(std::memcmp(back.data(), bf16_rounded(W).data(), back.size() * sizeof(float)), 0);
  kernels::unpack_linear(*p8, back.data());
  for (int64_t i = 0; i < N * K; ++i) Wq[i] = q[i] * sw[i / K];
  EXPECT_EQ(std::memcmp(back.data(), Wq.data(), back.size() * sizeof(float)), 0);
  for (const int64_t M : kRows) {
    const auto x = randn(M * K, 13 + M);
    std::vector<float> y(M * N);
    // bf16: products of bf16-rounded values, exact in fp32, summed in fp32.
    kernels::linear(*p16, x.data(), y.data(), M);
    EXPECT_LE(max_err(y, naive(bf16_rounded(x), bf16_rounded(W), b, M, K, N, Activation::Linear, nullptr)), 1e-4)
        << "bf16 " << M;
    // int8: each row quantized to u8 (scale max|x| / 127, zero point 128), exact integer sums.
    std::vector<float> xq(M * K);
    for (int64_t m = 0; m < M; ++m) {
      float amax = 0;
      for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(x[m * K + k]));
      const float inv = 127.0f / amax, s = amax / 127.0f;
      for (int64_t k = 0; k < K; ++k) xq[m * K + k] = std::nearbyint(x[m * K + k] * inv) * s;
    }
    kernels::linear(*p8, x.data(), y.data(), M, Activation::Relu);
    EXPECT_LE(max_err(y, naive(xq, Wq, b, M, K, N, Activation::Relu, nullptr)), 1e-4) << "int8 " << M;
  }
}

// int8 has two kernels per CPU: Auto (oneDNN's brgemm where it has one, else ernie's panels and
// kernel: AVX2, AVX-VNNI) and Onednn (oneDNN only). Both sum exactly in integers, so they must
// give the same bits, on shapes that leave partial panels (N % 16), partial 32-byte groups and k
// quads (K % 32, K % 4) and every remainder of the 4-row groups. Where the panels are used (the
// ctest entries that limit the ISA to AVX2 and AVX2_VNNI; any AVX2-only CPU) this tests them
// against oneDNN, and their unpacked weights against oneDNN's; the naive product checks both.
TEST(LinearPacked, Int8KernelsAgreeBitForBitOnOddShapes) {
  const std::string isa = kernels::matmul_isa();
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{250, 100}, {768, 48}, {7, 3}, {33, 17}, {2049, 20}};
  for (const auto& [K, N] : shapes) {
    const auto W = randn(N * K, 21 + K, 0.05f), b = randn(N, 22);
    const auto pa = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::S8);
    const auto po = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::S8, kernels::LinearKernel::Onednn);
    if (isa == "avx2" || isa == "avx2_vnni") {
      EXPECT_EQ(kernels::packed_kernel(*pa), isa == "avx2" ? "int8-panels/avx2" : "int8-panels/avx-vnni");
    }
    std::vector<float> back_a(N * K), back_o(N * K);
    kernels::unpack_linear(*pa, back_a.data());
    kernels::unpack_linear(*po, back_o.data());
    ASSERT_EQ(back_a, back_o) << K << "x" << N;
    for (const int64_t M : {1, 2, 3, 4, 5, 6, 7, 11, 13, 33, 65, 130}) {
      const auto x = randn(M * K, 23 + M);
      std::vector<float> ya(M * N), yo(M * N), xq(M * K);
      kernels::linear(*pa, x.data(), ya.data(), M, Activation::Gelu);
      kernels::linear(*po, x.data(), yo.data(), M, Activation::Gelu);
      EXPECT_EQ(std::memcmp(ya.data(), yo.data(), ya.size() * sizeof(float)), 0) << K << "x" << N << " M " << M;
      for (int64_t m = 0; m < M; ++m) {
        float amax = 0;
        for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(x[m * K + k]));
        const float inv = 127.0f / amax, s = amax / 127.0f;
        for (int64_t k = 0; k < K; ++k) xq[m * K + k] = std::nearbyint(x[m * K + k] * inv) * s;
      }
      EXPECT_LE(max_err(ya, naive(xq, back_a, b, M, K, N, Activation::Gelu, nullptr)), 1e-4) << K << "x" << N;
    }
  }
}

// feed_forward keeps the intermediate in the products' own format (bf16 rows written by oneDNN;
// u8 rows requantized from the s32 sums) and must give exactly what the two linear() calls give.
// For fp32, where it is those two calls, it is also checked against the naive product here.
TEST(LinearPacked, FeedForwardEqualsItsTwoLinearCallsForEveryType) {
  const int64_t H = 128, I = 512;
  const auto W1 = randn(I * H, 21, 0.05f), b1 = randn(I, 22), W2 = randn(H * I, 23, 0.05f), b2 = randn(H, 24);
  for (const auto type : {kernels::MatType::F32, kernels::MatType::BF16, kernels::MatType::S8}) {
    const auto up = kernels::pack_linear(W1.data(), b1.data(), H, I, type);
    const auto down = kernels::pack_linear(W2.data(), b2.data(), I, H, type);
    SCOPED_TRACE(kernels::packed_kernel(*up) + " type " + std::to_string(static_cast<int>(type)));
    for (const Activation act : {Activation::Relu, Activation::Gelu, Activation::GeluNew}) {
      for (const int64_t M : {1, 15, 17, 129, 385, 513}) {
        const auto x0 = randn(M * H, 25 + M);
        std::vector<float> want = x0, got = x0, inner(M * I);
        kernels::linear(*up, want.data(), inner.data(), M, act);
        kernels::linear(*down, inner.data(), want.data(), M, Activation::Linear, /*accumulate=*/true);
        kernels::feed_forward(*up, *down, got.data(), inner.data(), M, act);
        ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
            << "rows " << M << " act " << static_cast<int>(act);
        if (type == kernels::MatType::F32) {
          const std::vector<double> h = naive(x0, W1, b1, M, H, I, act, nullptr);
          const std::vector<float> hf(h.begin(), h.end());
          EXPECT_LE(max_err(got, naive(hf, W2, b2, M, I, H, Activation::Linear, &x0)), 2e-5) << "rows " << M;
        }
      }
    }
  }
  const auto up = kernels::pack_linear(W1.data(), b1.data(), H, I, kernels::MatType::F32);
  std::vector<float> x(H), inner(I);
  EXPECT_NE(ernie::testing::error_of([&] { kernels::feed_forward(*up, *up, x.data(), inner.data(), 1, Activation::Relu); })
                .find("do not chain"),
            std::string::npos);
}

// The same input gives the same bits every time, for every type and row count (ragged tails
// included); with libxsmm every row also gets exactly what it gets alone.
TEST(LinearPacked, DeterministicAndRowsIndependentOfTheBatch) {
  const int64_t K = 384, N = 320;
  const auto W = randn(N * K, 21, 0.05f), b = randn(N, 22);
  std::vector<std::shared_ptr<const kernels::PackedLinear>> packs;
  for (const auto kernel : fp32_kernels())
    packs.push_back(kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::F32, kernel));
  packs.push_back(kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::BF16));
  packs.push_back(kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::S8));
  for (const auto& p : packs) {
    SCOPED_TRACE(kernels::packed_kernel(*p) + " type " + std::to_string(int(kernels::packed_type(*p))));
    for (const int64_t M : {1, 5, 37, 64, 130, 600}) {
      const auto x = randn(M * K, 23 + M);
      std::vector<float> first(M * N), again(M * N);
      kernels::linear(*p, x.data(), first.data(), M, Activation::Gelu);
      for (int r = 0; r < 3; ++r) {
        kernels::linear(*p, x.data(), again.data(), M, Activation::Gelu);
        ASSERT_EQ(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)), 0) << M;
      }
      if (kernels::packed_kernel(*p) != "libxsmm") continue;
      for (const int64_t r : {int64_t{0}, M / 2, M - 1}) {   // row r alone, and inside a 3-row batch
        std::vector<float> one(N), three(3 * N);
        kernels::linear(*p, x.data() + r * K, one.data(), 1, Activation::Gelu);
        ASSERT_EQ(std::memcmp(one.data(), first.data() + r * N, N * sizeof(float)), 0) << M << " row " << r;
        if (r + 3 <= M) {
          kernels::linear(*p, x.data() + r * K, three.data(), 3, Activation::Gelu);
          ASSERT_EQ(std::memcmp(three.data(), first.data() + r * N, N * sizeof(float)), 0) << M << " row " << r;
        }
      }
    }
  }
}

// Packing holds the weights once: fp32 packs are exactly N·K floats (plus the bias).
TEST(LinearPacked, PackedCopyIsTheOnlyCopy) {
  const int64_t K = 768, N = 2304;
  const auto W = randn(N * K, 31, 0.02f), b = randn(N, 32);
  for (const auto kernel : fp32_kernels()) {
    const auto p = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::F32, kernel);
    EXPECT_EQ(kernels::packed_bytes(*p), static_cast<size_t>(N * K + N) * sizeof(float)) << kernels::packed_kernel(*p);
  }
  const auto p8 = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::S8);
  EXPECT_LE(kernels::packed_bytes(*p8), static_cast<size_t>(N * K + 4 * N * sizeof(float)));
}

// The vectorized bf16 conversions round to nearest even exactly as the scalar definition.
TEST(LinearPacked, Bf16ConversionsRoundToNearestEven) {
  auto x = randn(1000 + 37, 41, 3.0f);
  const uint32_t ties[] = {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x3f80ffffu, 0x7f7fffffu, 0};
  for (size_t i = 0; i < sizeof ties / sizeof ties[0]; ++i) std::memcpy(&x[i * 7], &ties[i], 4);
  const std::vector<float> want = bf16_rounded(x);
  std::vector<float> got(x.size());
  std::vector<uint16_t> bits(x.size());
  std::vector<float> widened(x.size());
  kernels::vec::round_bf16_row(x.data(), got.data(), static_cast<int64_t>(x.size()));
  kernels::vec::to_bf16_row(x.data(), bits.data(), static_cast<int64_t>(x.size()));
  kernels::vec::bf16_to_f32_row(bits.data(), widened.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    uint32_t w;
    std::memcpy(&w, &want[i], 4);
    ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0) << i;
    ASSERT_EQ(bits[i], w >> 16) << i;
    ASSERT_EQ(std::memcmp(&widened[i], &want[i], 4), 0) << i;   // and back, exactly
  }
}

// Without bf16 products (AVX2, AVX-512 without BF16) bf16 layers keep their panels as bf16, half
// the bytes of fp32, and widen them per panel: the results must be exactly those of fp32 panels
// holding the rounded weights, with the activations rounded alike, and the naive product's.
// (N % 64 != 0 for K > 1024: fp32 panels of such a shape would also go to oneDNN's brgemm.)
TEST(LinearPacked, EmulatedBf16KeepsHalfTheBytesAndTheFp32PanelsResults) {
  if (kernels::native_support(kernels::MatType::BF16) || fp32_kernels().size() < 2)
    GTEST_SKIP() << "bf16 products are native here (or no libxsmm): the kernels_isa_AVX2 run checks this path";
  for (const auto& [K, N] : {std::pair<int64_t, int64_t>{768, 3072}, {200, 100}, {3072, 100}}) {
    const auto W = randn(N * K, 51, 0.05f), b = randn(N, 52);
    const auto p16 = kernels::pack_linear(W.data(), b.data(), K, N, kernels::MatType::BF16, kernels::LinearKernel::Libxsmm);
    const auto Wr = bf16_rounded(W);
    const auto p32 = kernels::pack_linear(Wr.data(), b.data(), K, N, kernels::MatType::F32, kernels::LinearKernel::Libxsmm);
    ASSERT_EQ(kernels::packed_kernel(*p16), "libxsmm");
    EXPECT_EQ(kernels::packed_bytes(*p16), static_cast<size_t>(N * K * 2 + N * 4));
    std::vector<float> back(N * K);
    kernels::unpack_linear(*p16, back.data());
    EXPECT_EQ(std::memcmp(back.data(), Wr.data(), back.size() * sizeof(float)), 0);
    for (const int64_t M : {1, 3, 16, 65, 300}) {
      const auto x = randn(M * K, 53 + M);
      const auto xr = bf16_rounded(x);
      std::vector<float> got(M * N), want(M * N);
      kernels::linear(*p16, x.data(), got.data(), M, Activation::Gelu);
      kernels::linear(*p32, xr.data(), want.data(), M, Activation::Gelu);
      ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << K << "x" << N << " rows " << M;
      EXPECT_LE(max_err(got, naive(xr, Wr, b, M, K, N, Activation::Gelu, nullptr)), 1e-4) << M;
    }
  }
}

// Through a whole model: the same batch twice gives the same bits; with libxsmm (fp32) every
// sequence of a ragged batch gets exactly the bits it gets alone (batching never changes answers).
TEST(LinearPacked, ModelForwardIsDeterministicAndBatchInvariant) {
  Config cfg = load_config(ernie::testing::source_dir() / "configs" / "ernie-1.0-base-zh.json");
  cfg.hidden_size = 128;
  cfg.num_attention_heads = 4;
  cfg.intermediate_size = 512;
  cfg.num_hidden_layers = 2;
  const Model m = Model::from_tensors(cfg, init_parameters(cfg, 5));
  std::mt19937_64 rng(6);
  std::vector<std::vector<int64_t>> rows;
  for (const int64_t n : {70, 3, 129, 1, 40}) {
    std::vector<int64_t> r(n);
    for (auto& id : r) id = 5 + static_cast<int64_t>(rng() % (cfg.vocab_size - 5));
    rows.push_back(r);
  }
  auto batch = [&](size_t first, size_t count) {
    int64_t L = 0;
    for (size_t i = first; i < first + count; ++i) L = std::max<int64_t>(L, rows[i].size());
    Tensor ids = Tensor::zeros(DType::I64, {static_cast<int64_t>(count), L});
    Tensor mask = Tensor::zeros(DType::I64, {static_cast<int64_t>(count), L});
    for (size_t i = 0; i < count; ++i)
      for (size_t t = 0; t < rows[first + i].size(); ++t) {
        ids.data<int64_t>()[i * L + t] = rows[first + i][t];
        mask.data<int64_t>()[i * L + t] = 1;
      }
    return pack_padded(PaddedInputs{ids, mask, Tensor(), Tensor()}, cfg);
  };
  const Outputs all = m.forward(batch(0, rows.size()));
  const Outputs again = m.forward(batch(0, rows.size()));
  const size_t bytes = all.last_hidden_state.nbytes();
  ASSERT_EQ(std::memcmp(all.last_hidden_state.raw(), again.last_hidden_state.raw(), bytes), 0);
  ASSERT_EQ(std::memcmp(all.logits.raw(), again.logits.raw(), all.logits.nbytes()), 0);
  std::vector<float> W(4, 1.0f);
  if (kernels::packed_kernel(*kernels::pack_linear(W.data(), nullptr, 2, 2, kernels::MatType::F32)) != "libxsmm")
    GTEST_SKIP() << "oneDNN fp32 kernels: results may depend on the batch's row count";
  int64_t offset = 0;
  const int64_t H = cfg.hidden_size;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Outputs one = m.forward(batch(i, 1));
    const int64_t n = static_cast<int64_t>(rows[i].size());
    ASSERT_EQ(std::memcmp(one.last_hidden_state.data<float>(), all.last_hidden_state.data<float>() + offset * H,
                          n * H * sizeof(float)),
              0)
        << "sequence " << i;
    offset += n;
  }
}

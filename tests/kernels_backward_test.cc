// Training kernels (the block at the end of kernels/kernels.h) against independent references:
// every backward against central finite differences of its forward, and the forwards against
// plain loops written here.
//
// Finite differences: the forward kernels run in float, so each check takes the loss
// f = Σ dy ⊙ y (accumulated in double over the float outputs, dy random) and the central
// difference (f(x + h) - f(x - h)) / 2h per input element. Its error is the float rounding of the
// outputs over 2h plus the h² truncation term; the tolerance is
//     |fd - analytic| <= atol + rtol * |analytic|,   atol = kAtol * max|analytic|
// with (h, rtol, kAtol) chosen per kernel and written at each check: h = 1e-1 for linear (exact
// for any h: the loss is linear in each input), 1e-3 for elementwise activations, 1e-2 for
// LayerNorm / attention / losses, rtol 2e-3 .. 1e-2, kAtol 1e-3 .. 2e-3.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ernie/error.h"
#include "ernie/rng.h"
#include "kernels/kernels.h"
#include "test_util.h"

using namespace ernie;
using namespace ernie::kernels;
using ernie::testing::randn;

namespace {

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Central differences of loss() with respect to each element of x, against `analytic`.
void expect_fd(const std::string& what, std::vector<float>& x, const std::vector<float>& analytic,
               const std::function<double()>& loss, float h, double rtol, double atol_rel) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  double amax = 0.0;
  for (float g : analytic) amax = std::max(amax, static_cast<double>(std::fabs(g)));
  const double atol = atol_rel * std::max(amax, 1e-3);
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float saved = x[i];
    x[i] = saved + h;
    const double fp = loss();
    x[i] = saved - h;
    const double fm = loss();
    x[i] = saved;
    const double fd = (fp - fm) / (2.0 * static_cast<double>(h));
    const double err = std::fabs(fd - analytic[i]);
    if (err > atol + rtol * std::fabs(analytic[i]) && ++bad <= 5)
      ADD_FAILURE() << what << "[" << i << "]: finite difference " << fd << " vs analytic " << analytic[i]
                    << " (max |grad| " << amax << ")";
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << x.size() << " elements off";
}

// The dropout mask formula of dropout_cpu.cc, written out independently from philox4x32.
bool keep_ref(DropoutKey key, uint64_t i, float p) {
  const auto r = philox4x32({static_cast<uint32_t>(i / 4), static_cast<uint32_t>((i / 4) >> 32),
                             static_cast<uint32_t>(key.stream), static_cast<uint32_t>(key.stream >> 32)},
                            {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
  const double u = (static_cast<double>(r[i % 4]) + 0.5) / 4294967296.0;
  return u >= static_cast<double>(p);
}

// ------------------------------------------------------------------------------------- linear

TEST(KernelsBackward, LinearFiniteDifferences) {
  const int64_t M = 5, K = 7, N = 6;
  auto x = randn(M * K, 1), W = randn(N * K, 2, 0.5f), b = randn(N, 3), dy = randn(M * N, 4);
  std::vector<float> y(M * N);
  auto loss = [&] {
    linear(x.data(), W.data(), b.data(), y.data(), M, K, N);
    return dot(dy, y);
  };
  std::vector<float> dx(M * K, 123.0f), dW(N * K, 0.0f), db(N, 0.0f);
  linear_backward(x.data(), W.data(), dy.data(), dx.data(), dW.data(), db.data(), M, K, N);
  // The loss is linear in each input: the difference is exact up to float rounding of y.
  expect_fd("dx", x, dx, loss, 0.1f, 2e-3, 1e-3);
  expect_fd("dW", W, dW, loss, 0.1f, 2e-3, 1e-3);
  expect_fd("db", b, db, loss, 0.1f, 2e-3, 1e-3);
}

TEST(KernelsBackward, LinearAccumulatesAndMatchesLoops) {
  const int64_t M = 37, K = 19, N = 70;   // N > 64: more than one column block for db
  auto x = randn(M * K, 5), W = randn(N * K, 6), dy = randn(M * N, 7);
  auto dx0 = randn(M * K, 8), dW0 = randn(N * K, 9), db0 = randn(N, 10);
  auto dx = dx0, dW = dW0, db = db0;
  linear_backward(x.data(), W.data(), dy.data(), dx.data(), dW.data(), db.data(), M, K, N, /*accumulate_dx=*/true);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      double s = dx0[m * K + k];
      for (int64_t n = 0; n < N; ++n) s += static_cast<double>(dy[m * N + n]) * W[n * K + k];
      EXPECT_NEAR(dx[m * K + k], s, 1e-4 * (1 + std::fabs(s))) << m << "," << k;
    }
  for (int64_t n = 0; n < N; ++n) {
    double sb = db0[n];
    for (int64_t m = 0; m < M; ++m) sb += dy[m * N + n];
    EXPECT_NEAR(db[n], sb, 1e-4 * (1 + std::fabs(sb))) << n;
    for (int64_t k = 0; k < K; ++k) {
      double s = dW0[n * K + k];
      for (int64_t m = 0; m < M; ++m) s += static_cast<double>(dy[m * N + n]) * x[m * K + k];
      EXPECT_NEAR(dW[n * K + k], s, 1e-4 * (1 + std::fabs(s))) << n << "," << k;
    }
  }
  // Null outputs are skipped; the overwrite mode ignores what dx held.
  std::vector<float> dx2(M * K, NAN);
  linear_backward(x.data(), W.data(), dy.data(), dx2.data(), nullptr, nullptr, M, K, N);
  for (int64_t i = 0; i < M * K; ++i) EXPECT_NEAR(dx2[i], dx[i] - dx0[i], 1e-4 * (1 + std::fabs(dx2[i])));
  // db's sum is deterministic for any thread count.
  std::vector<float> a(N, 0.0f), c(N, 0.0f);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  linear_backward(x.data(), W.data(), dy.data(), nullptr, nullptr, a.data(), M, K, N);
  omp_set_num_threads(std::max(2, saved));
  linear_backward(x.data(), W.data(), dy.data(), nullptr, nullptr, c.data(), M, K, N);
  omp_set_num_threads(saved);
  EXPECT_EQ(a, c);
}

// --------------------------------------------------------------------------------- activations

TEST(KernelsBackward, ActivationsFiniteDifferences) {
  const std::pair<Activation, const char*> acts[] = {
      {Activation::Relu, "relu"},         {Activation::Gelu, "gelu"},     {Activation::GeluNew, "gelu_new"},
      {Activation::GeluFast, "gelu_fast"}, {Activation::QuickGelu, "quick_gelu"}, {Activation::Silu, "silu"},
      {Activation::Tanh, "tanh"},         {Activation::Sigmoid, "sigmoid"}, {Activation::Linear, "linear"}};
  // Inputs over [-8, 8] (saturated tails included), none within 0.01 of relu's kink at 0.
  std::vector<float> x;
  for (int i = 0; i <= 320; ++i) {
    const float v = -8.0f + 0.05f * static_cast<float>(i) + 0.0123f;
    if (std::fabs(v) > 0.01f) x.push_back(v);
  }
  const int64_t n = static_cast<int64_t>(x.size());
  const auto dy = randn(n, 11);
  const float h = 1e-3f;
  for (const auto& [act, name] : acts) {
    std::vector<float> dx(n);
    activation_backward(act, x.data(), dy.data(), dx.data(), n);
    // Elementwise: perturb every element at once.
    std::vector<float> xp(n), xm(n);
    for (int64_t i = 0; i < n; ++i) {
      xp[i] = x[i] + h;
      xm[i] = x[i] - h;
    }
    activate(act, xp.data(), n);
    activate(act, xm.data(), n);
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      // Exact increments (x ± h as floats), so the quotient uses the true step.
      const double step = static_cast<double>(x[i] + h) - static_cast<double>(x[i] - h);
      const double fd = dy[i] * ((static_cast<double>(xp[i]) - xm[i]) / step);
      // float outputs of magnitude <= 8 rounded (~5e-7) over 2h = 2e-3: <= 5e-4 absolute.
      if (std::fabs(fd - dx[i]) > 1e-3 * std::fabs(dy[i]) + 2e-3 * std::fabs(dx[i]) && ++bad <= 5)
        ADD_FAILURE() << name << " x=" << x[i] << ": fd " << fd << " vs " << dx[i];
    }
    EXPECT_EQ(bad, 0) << name;
    // dx may alias dy.
    auto g = dy;
    activation_backward(act, x.data(), g.data(), g.data(), n);
    EXPECT_EQ(g, dx) << name;
  }
}

TEST(KernelsBackward, ActivationDerivativesAtKnownPoints) {
  // Closed forms in double: relu'(x) is 0 at and below 0; gelu'(0) = 1/2; tanh'(0) = 1;
  // sigmoid'(0) = 1/4; silu'(0) = 1/2; quick_gelu'(0) = 1/2; gelu'(x) = Phi(x) + x phi(x).
  const float xs[] = {-1.0f, 0.0f, 1.0f, 2.0f};
  const float ones[] = {1.0f, 1.0f, 1.0f, 1.0f};
  float d[4];
  activation_backward(Activation::Relu, xs, ones, d, 4);
  EXPECT_EQ(d[0], 0.0f);
  EXPECT_EQ(d[1], 0.0f);
  EXPECT_EQ(d[2], 1.0f);
  activation_backward(Activation::Gelu, xs, ones, d, 4);
  for (int i = 0; i < 4; ++i) {
    const double v = xs[i];
    const double ref = 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-v * v / 2) / std::sqrt(2 * M_PI);
    EXPECT_NEAR(d[i], ref, 1e-6);
  }
  activation_backward(Activation::Tanh, xs, ones, d, 4);
  EXPECT_NEAR(d[1], 1.0, 1e-7);
  activation_backward(Activation::Sigmoid, xs, ones, d, 4);
  EXPECT_NEAR(d[1], 0.25, 1e-7);
  activation_backward(Activation::Silu, xs, ones, d, 4);
  EXPECT_NEAR(d[1], 0.5, 1e-7);
  activation_backward(Activation::QuickGelu, xs, ones, d, 4);
  EXPECT_NEAR(d[1], 0.5, 1e-7);
  activation_backward(Activation::GeluNew, xs, ones, d, 4);
  EXPECT_NEAR(d[1], 0.5, 1e-7);
}

// ---------------------------------------------------------------------------------- LayerNorm

TEST(KernelsBackward, LayerNormForwardMatchesReferenceAndInference) {
  const int64_t M = 6, H = 70;
  const float eps = 1e-12f;
  auto x = randn(M * H, 20, 2.0f), gamma = randn(H, 21), beta = randn(H, 22);
  for (int64_t j = 0; j < H; ++j) x[3 * H + j] += 50.0f;   // a row with a large mean
  std::vector<float> y(M * H), mean(M), rstd(M);
  layer_norm_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), M, H, eps);
  auto inf = x;
  add_layer_norm(inf.data(), nullptr, gamma.data(), beta.data(), M, H, eps);
  for (int64_t r = 0; r < M; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < H; ++j) mu += x[r * H + j];
    mu /= H;
    for (int64_t j = 0; j < H; ++j) var += (x[r * H + j] - mu) * (x[r * H + j] - mu);
    var /= H;
    const double inv = 1.0 / std::sqrt(var + eps);
    EXPECT_NEAR(mean[r], mu, 1e-5 * (1 + std::fabs(mu)));
    EXPECT_NEAR(rstd[r], inv, 1e-5 * inv);
    for (int64_t j = 0; j < H; ++j) {
      const double ref = (x[r * H + j] - mu) * inv * gamma[j] + beta[j];
      EXPECT_NEAR(y[r * H + j], ref, 1e-4 * (1 + std::fabs(ref)));
      EXPECT_NEAR(y[r * H + j], inf[r * H + j], 1e-5 * (1 + std::fabs(ref)));
    }
  }
  // y may alias x.
  auto z = x;
  layer_norm_forward(z.data(), gamma.data(), beta.data(), z.data(), mean.data(), rstd.data(), M, H, eps);
  EXPECT_EQ(z, y);
}

TEST(KernelsBackward, LayerNormFiniteDifferences) {
  const int64_t M = 4, H = 9;
  const float eps = 1e-5f;
  auto x = randn(M * H, 30), gamma = randn(H, 31), beta = randn(H, 32), dy = randn(M * H, 33);
  for (auto& g : gamma) g += 1.0f;
  std::vector<float> y(M * H), mean(M), rstd(M);
  auto loss = [&] {
    layer_norm_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), M, H, eps);
    return dot(dy, y);
  };
  loss();
  std::vector<float> dx(M * H), dgamma(H, 0.0f), dbeta(H, 0.0f);
  layer_norm_backward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(), dx.data(), dgamma.data(),
                      dbeta.data(), M, H);
  // Smooth in x (truncation ~h² = 1e-4 relative); linear in gamma and beta.
  expect_fd("dx", x, dx, loss, 1e-2f, 1e-2, 2e-3);
  expect_fd("dgamma", gamma, dgamma, loss, 1e-2f, 2e-3, 1e-3);
  expect_fd("dbeta", beta, dbeta, loss, 1e-2f, 2e-3, 1e-3);

  // Accumulation: dgamma/dbeta always +=, dx += with accumulate_dx; dx may alias dy.
  auto dx2 = dx, dg2 = dgamma, db2 = dbeta;
  layer_norm_backward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(), dx2.data(), dg2.data(),
                      db2.data(), M, H, true);
  for (int64_t i = 0; i < M * H; ++i) EXPECT_NEAR(dx2[i], 2 * dx[i], 1e-6 * (1 + std::fabs(dx[i])));
  for (int64_t j = 0; j < H; ++j) {
    EXPECT_NEAR(dg2[j], 2 * dgamma[j], 1e-6 * (1 + std::fabs(dgamma[j])));
    EXPECT_NEAR(db2[j], 2 * dbeta[j], 1e-6 * (1 + std::fabs(dbeta[j])));
  }
  auto g = dy;
  std::vector<float> dg3(H, 0.0f), db3(H, 0.0f);
  layer_norm_backward(x.data(), gamma.data(), mean.data(), rstd.data(), g.data(), g.data(), dg3.data(), db3.data(),
                      M, H);
  EXPECT_EQ(g, dx);
  EXPECT_EQ(dg3, dgamma);
  EXPECT_EQ(db3, dbeta);
}

TEST(KernelsBackward, LayerNormBackwardSameForOneAndTwoThreads) {
  const int64_t M = 700, H = 160;   // above the parallel threshold; 3 column blocks
  auto x = randn(M * H, 40), gamma = randn(H, 41), beta = randn(H, 42), dy = randn(M * H, 43);
  std::vector<float> y(M * H), mean(M), rstd(M);
  layer_norm_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), M, H, 1e-12f);
  const int saved = omp_get_max_threads();
  std::vector<float> dx[2], dg[2], db[2];
  for (int t = 0; t < 2; ++t) {
    omp_set_num_threads(t + 1);
    dx[t].assign(M * H, 0.0f);
    dg[t].assign(H, 0.5f);
    db[t].assign(H, -0.5f);
    layer_norm_backward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(), dx[t].data(), dg[t].data(),
                        db[t].data(), M, H);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(dx[0], dx[1]);
  EXPECT_EQ(dg[0], dg[1]);
  EXPECT_EQ(db[0], db[1]);
  // And against plain double sums.
  for (int64_t j = 0; j < H; ++j) {
    double sg = 0.5, sb = -0.5;
    for (int64_t r = 0; r < M; ++r) {
      sg += static_cast<double>(dy[r * H + j]) * (x[r * H + j] - mean[r]) * rstd[r];
      sb += dy[r * H + j];
    }
    EXPECT_NEAR(dg[0][j], sg, 1e-4 * (1 + std::fabs(sg)));
    EXPECT_NEAR(db[0][j], sb, 1e-4 * (1 + std::fabs(sb)));
  }
}

// ------------------------------------------------------------------------------------ dropout

TEST(KernelsBackward, DropoutMatchesFormulaAndIsThreadIndependent) {
  const int64_t n = 200003;
  const float p = 0.1f;
  const DropoutKey key{0x123456789abcdefull, 0xfedcba9876543210ull};
  const uint64_t first = (1ull << 33) + 7;   // unaligned, above 32 bits
  const int saved = omp_get_max_threads();
  std::vector<float> y[2];
  for (int t = 0; t < 2; ++t) {
    omp_set_num_threads(t == 0 ? 1 : std::max(4, saved));
    y[t].assign(n, 1.0f);
    dropout(y[t].data(), n, p, key, first);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(y[0], y[1]);
  const float scale = 1.0f / (1.0f - p);
  int64_t kept = 0, mismatch = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool k = keep_ref(key, first + i, p);
    kept += k;
    if (y[0][i] != (k ? scale : 0.0f)) ++mismatch;
  }
  EXPECT_EQ(mismatch, 0);
  // Keep rate 1 - p within 5 standard deviations (sqrt(p (1 - p) / n) = 6.7e-4).
  EXPECT_NEAR(static_cast<double>(kept) / n, 1.0 - p, 5 * std::sqrt(p * (1 - p) / n));

  // Backward is the same call on the gradient: g ⊙ mask / (1 - p).
  auto g = randn(n, 50);
  auto dg = g;
  dropout(dg.data(), n, p, key, first);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(dg[i], y[0][i] == 0.0f ? 0.0f : g[i] * scale) << i;

  // Splitting one stream over two calls with `first` gives the same mask.
  std::vector<float> split(n, 1.0f);
  dropout(split.data(), 1001, p, key, first);
  dropout(split.data() + 1001, n - 1001, p, key, first + 1001);
  EXPECT_EQ(split, y[0]);

  // Another stream or seed gives another mask; p = 0 is a no-op; p = 1 drops everything.
  std::vector<float> other(n, 1.0f);
  dropout(other.data(), n, p, DropoutKey{key.seed, key.stream + 1}, first);
  EXPECT_NE(other, y[0]);
  std::vector<float> other_seed(n, 1.0f);
  dropout(other_seed.data(), n, p, DropoutKey{key.seed + 1, key.stream}, first);
  EXPECT_NE(other_seed, y[0]);
  auto same = g;
  dropout(same.data(), n, 0.0f, key, first);
  EXPECT_EQ(same, g);
  std::vector<float> all(10, 1.0f);
  dropout(all.data(), 10, 1.0f, key);
  EXPECT_EQ(all, std::vector<float>(10, 0.0f));
  EXPECT_THROW(dropout(all.data(), 10, -0.1f, key), Error);
}

// ---------------------------------------------------------------------------------- attention

struct AttnCase {
  std::vector<int64_t> offsets;
  int64_t heads, d, ld_mult;   // ld_mult 1: [T, heads*d] each; 3: a fused [T, 3*heads*d] QKV buffer
  int64_t max_positions;
};

// q, k, v and their gradients in one buffer per layout.
struct AttnData {
  int64_t T, width, ld;
  std::vector<float> qkv;   // fused: [T, 3 * width]; separate: 3 blocks of [T, width]
  float* q() { return qkv.data(); }
  float* k() { return ld == width ? qkv.data() + T * width : qkv.data() + width; }
  float* v() { return ld == width ? qkv.data() + 2 * T * width : qkv.data() + 2 * width; }
  // (tensor 0..2, token, column) -> index into qkv
  size_t at(int which, int64_t t, int64_t c) const {
    return ld == width ? static_cast<size_t>(which * T * width + t * width + c)
                       : static_cast<size_t>(t * ld + which * width + c);
  }
};

AttnData make_attn_data(const AttnCase& c, uint64_t seed) {
  AttnData a;
  a.T = c.offsets.back();
  a.width = c.heads * c.d;
  a.ld = c.ld_mult * a.width;
  a.qkv = randn(static_cast<size_t>(3 * a.T * a.width), seed, 0.7f);
  return a;
}

AttentionArgs args_for(const AttnCase& c, AttnData& a, float* ctx) {
  AttentionArgs args{};
  args.q = a.q();
  args.k = a.k();
  args.v = a.v();
  args.ctx = ctx;
  args.ld = c.ld_mult == 1 ? 0 : a.ld;
  args.offsets = c.offsets.data();
  args.sequences = static_cast<int64_t>(c.offsets.size()) - 1;
  args.heads = c.heads;
  args.head_dim = c.d;
  args.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  args.max_positions = c.max_positions;
  return args;
}

// Plain double-precision attention with the dropout mask from keep_ref.
std::vector<double> attention_ref(const AttnCase& c, const AttnData& a, float p, DropoutKey key) {
  const int64_t S = static_cast<int64_t>(c.offsets.size()) - 1, d = c.d, width = a.width;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> ctx(static_cast<size_t>(a.T * width), 0.0);
  for (int64_t s = 0; s < S; ++s) {
    const int64_t b = c.offsets[s], L = c.offsets[s + 1] - b;
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < L; ++i) {
        std::vector<double> sc(L);
        double best = -INFINITY, sum = 0;
        for (int64_t j = 0; j < L; ++j) {
          double dd = 0;
          for (int64_t e = 0; e < d; ++e) dd += static_cast<double>(a.qkv[a.at(0, b + i, h * d + e)]) * a.qkv[a.at(1, b + j, h * d + e)];
          sc[j] = dd * scale;
          best = std::max(best, sc[j]);
        }
        for (int64_t j = 0; j < L; ++j) sum += (sc[j] = std::exp(sc[j] - best));
        for (int64_t j = 0; j < L; ++j) {
          double pr = sc[j] / sum;
          if (p > 0) {
            const uint64_t idx = ((static_cast<uint64_t>(s) * c.heads + h) * c.max_positions + i) * c.max_positions + j;
            pr = keep_ref(key, idx, p) ? pr / (1.0 - p) : 0.0;
          }
          for (int64_t e = 0; e < d; ++e) ctx[(b + i) * width + h * d + e] += pr * a.qkv[a.at(2, b + j, h * d + e)];
        }
      }
  }
  return ctx;
}

const AttnCase kRagged{{0, 3, 8, 10}, 3, 4, 1, 16};        // lengths 3, 5, 2; 3 heads
const AttnCase kRaggedFused{{0, 6, 7, 11}, 2, 5, 3, 12};   // lengths 6, 1, 4; fused QKV (ld = 3 H)

TEST(KernelsBackward, AttentionTrainWithoutDropoutEqualsInference) {
  for (const AttnCase& c : {kRagged, kRaggedFused, AttnCase{{0, 200, 330}, 2, 8, 3, 256}}) {
    auto a = make_attn_data(c, 60);
    std::vector<float> ref(a.T * a.width), out(a.T * a.width);
    auto args = args_for(c, a, ref.data());
    attention(args);
    args.ctx = out.data();
    attention_forward_train(args, 0.0f, DropoutKey{1, 2});
    EXPECT_EQ(out, ref);   // the same code path: bitwise
  }
}

TEST(KernelsBackward, AttentionDropoutMatchesReferenceLoop) {
  // Lengths up to 200: more than one 128-row query block.
  for (const AttnCase& c : {kRagged, kRaggedFused, AttnCase{{0, 200, 330}, 2, 8, 3, 256}}) {
    auto a = make_attn_data(c, 61);
    const DropoutKey key{987654321, 42};
    const float p = 0.3f;
    std::vector<float> out(a.T * a.width);
    auto args = args_for(c, a, out.data());
    attention_forward_train(args, p, key);
    const auto ref = attention_ref(c, a, p, key);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 1e-5 * (1 + std::fabs(ref[i]))) << i;
    // The probabilities' mask is the public dropout's: a different key changes the output.
    std::vector<float> out2(a.T * a.width);
    args.ctx = out2.data();
    attention_forward_train(args, p, DropoutKey{key.seed, key.stream + 1});
    EXPECT_NE(out2, out);
  }
}

void attention_fd(const AttnCase& c, float p, const char* name) {
  SCOPED_TRACE(name);
  auto a = make_attn_data(c, 70);
  const DropoutKey key{5555, 77};
  const auto dctx = randn(static_cast<size_t>(a.T * a.width), 71);
  std::vector<float> ctx(a.T * a.width);
  // The gradients land in a buffer laid out like qkv (same ld), prefilled with garbage: overwritten.
  AttnData g = a;
  std::fill(g.qkv.begin(), g.qkv.end(), NAN);
  auto args = args_for(c, a, ctx.data());
  attention_backward(args, p, key, dctx.data(), g.q(), g.k(), g.v());
  auto loss = [&] {
    attention_forward_train(args_for(c, a, ctx.data()), p, key);
    return dot(dctx, ctx);
  };
  // Per tensor, the analytic gradient in the same order as the perturbed elements.
  for (int which = 0; which < 3; ++which) {
    std::vector<float> xs, an;
    for (int64_t t = 0; t < a.T; ++t)
      for (int64_t col = 0; col < a.width; ++col) {
        xs.push_back(a.qkv[a.at(which, t, col)]);
        an.push_back(g.qkv[a.at(which, t, col)]);
      }
    // Perturb through a proxy: copy xs into qkv before each evaluation.
    auto proxy_loss = [&] {
      size_t n = 0;
      for (int64_t t = 0; t < a.T; ++t)
        for (int64_t col = 0; col < a.width; ++col) a.qkv[a.at(which, t, col)] = xs[n++];
      return loss();
    };
    const char* names[] = {"dq", "dk", "dv"};
    // Softmax is smooth (truncation ~h²); the mask depends on the key only, so it is fixed.
    expect_fd(names[which], xs, an, proxy_loss, 1e-2f, 1e-2, 2e-3);
    proxy_loss();   // restore
  }
  // In the fused layout the columns between q, k and v belong to the caller; check nothing else
  // was written: every element of g is now a gradient (finite).
  for (float v : g.qkv) ASSERT_TRUE(std::isfinite(v));
}

TEST(KernelsBackward, AttentionFiniteDifferences) {
  attention_fd(kRagged, 0.0f, "ragged, p = 0");
  attention_fd(kRagged, 0.25f, "ragged, p = 0.25");
  attention_fd(kRaggedFused, 0.0f, "fused ld = 3H, p = 0");
  attention_fd(kRaggedFused, 0.25f, "fused ld = 3H, p = 0.25");
}

TEST(KernelsBackward, AttentionRejectsRelativePositions) {
  auto a = make_attn_data(kRagged, 80);
  std::vector<float> ctx(a.T * a.width), g(3 * a.T * a.width);
  auto args = args_for(kRagged, a, ctx.data());
  args.kind = PositionKind::RelativeKey;
  EXPECT_THROW(attention_forward_train(args, 0.0f, {}), Error);
  EXPECT_THROW(attention_backward(args, 0.0f, {}, ctx.data(), g.data(), g.data(), g.data()), Error);
  args.kind = PositionKind::Absolute;
  args.max_positions = 4;   // a sequence of 5 tokens does not fit the dropout index space
  EXPECT_THROW(attention_forward_train(args, 0.1f, {}), Error);
}

// ------------------------------------------------------------------------------------- losses

TEST(KernelsBackward, CrossEntropy) {
  const int64_t B = 4, N = 5;
  auto logits = randn(B * N, 90, 2.0f);
  logits[7] = 60.0f;   // a large logit: the log-softmax must stay finite
  std::vector<int32_t> labels = {2, 0, 4, 1};
  std::vector<float> d(B * N);
  const float scale = 0.5f;
  const float loss = cross_entropy(logits.data(), labels.data(), d.data(), B, N, scale);
  double ref = 0;
  for (int64_t b = 0; b < B; ++b) {
    double m = -INFINITY, s = 0;
    for (int64_t n = 0; n < N; ++n) m = std::max(m, static_cast<double>(logits[b * N + n]));
    for (int64_t n = 0; n < N; ++n) s += std::exp(logits[b * N + n] - m);
    ref += m + std::log(s) - logits[b * N + labels[b]];
  }
  ref /= B;
  EXPECT_NEAR(loss, ref, 1e-5 * (1 + ref));
  auto f = [&] {
    std::vector<float> tmp(B * N);
    return scale * static_cast<double>(cross_entropy(logits.data(), labels.data(), tmp.data(), B, N));
  };
  expect_fd("dlogits", logits, d, f, 1e-2f, 1e-2, 2e-3);
  labels[0] = 5;
  EXPECT_THROW(cross_entropy(logits.data(), labels.data(), d.data(), B, N), Error);
}

TEST(KernelsBackward, BceWithLogits) {
  const int64_t B = 3, N = 4;
  auto logits = randn(B * N, 91, 2.0f);
  logits[0] = 100.0f;    // target 0: loss 100, finite
  logits[1] = -100.0f;   // target 1: loss 100, finite
  std::vector<float> t = {0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
  std::vector<float> d(B * N);
  const float scale = 2.0f;
  const float loss = bce_with_logits(logits.data(), t.data(), d.data(), B, N, scale);
  double ref = 0;
  for (int64_t i = 0; i < B * N; ++i) {
    const double x = logits[i];
    // -(t log σ(x) + (1 - t) log(1 - σ(x))) = t softplus(-x) + (1 - t) softplus(x)
    auto softplus = [](double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); };
    ref += t[i] * softplus(-x) + (1 - t[i]) * softplus(x);
  }
  ref /= B * N;
  EXPECT_NEAR(loss, ref, 1e-5 * (1 + ref));
  EXPECT_TRUE(std::isfinite(loss));
  auto f = [&] {
    std::vector<float> tmp(B * N);
    return scale * static_cast<double>(bce_with_logits(logits.data(), t.data(), tmp.data(), B, N));
  };
  // The saturated elements have gradient ±scale / (B N) exactly (σ = 0 or 1).
  EXPECT_NEAR(d[0], scale / (B * N), 1e-7);
  EXPECT_NEAR(d[1], -scale / (B * N), 1e-7);
  expect_fd("dlogits", logits, d, f, 1e-2f, 1e-2, 2e-3);
}

TEST(KernelsBackward, Mse) {
  const int64_t B = 5, N = 2;
  auto pred = randn(B * N, 92), target = randn(B * N, 93);
  std::vector<float> d(B * N);
  const float loss = mse(pred.data(), target.data(), d.data(), B, N, 0.25f);
  double ref = 0;
  for (int64_t i = 0; i < B * N; ++i) ref += (static_cast<double>(pred[i]) - target[i]) * (pred[i] - target[i]);
  ref /= B * N;
  EXPECT_NEAR(loss, ref, 1e-6 * (1 + ref));
  auto f = [&] {
    std::vector<float> tmp(B * N);
    return 0.25 * static_cast<double>(mse(pred.data(), target.data(), tmp.data(), B, N));
  };
  expect_fd("dpred", pred, d, f, 1e-2f, 2e-3, 1e-3);
}

}  // namespace

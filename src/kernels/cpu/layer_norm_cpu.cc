// Residual add + LayerNorm, one row per task, vectorized with Highway (kernels/cpu/vec_cpu.cc).
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta, int64_t M,
                    int64_t H, float eps) {
#pragma omp parallel for schedule(static) if (M * H > 1 << 14)
  for (int64_t r = 0; r < M; ++r)
    vec::layer_norm_row(x + r * H, residual ? residual + r * H : nullptr, gamma, beta, H, eps);
}

}  // namespace ernie::kernels

// ---------------------------------------------------------------------------------------------
// Training: LayerNorm forward keeping mean and rstd, and its backward.
//   forward (per row, two-pass like vec::layer_norm_row): mean = Σx / H, var = Σ(x - mean)² / H,
//     rstd = 1 / sqrt(var + eps), y = (x - mean) * rstd * gamma + beta.
//   backward (per row): x̂ = (x - mean) * rstd, g = dy * gamma,
//     dx = rstd * (g - mean(g) - x̂ * mean(g * x̂)),
//     dgamma[j] += Σ_rows dy * x̂, dbeta[j] += Σ_rows dy.
// dgamma/dbeta are formed before dx, so dx may alias dy. dx is parallel over rows; dgamma/dbeta are parallel over column blocks, each column summed over
// the rows in order in double, so they are bitwise the same for any thread count.
// ---------------------------------------------------------------------------------------------
#include <algorithm>
#include <cmath>

namespace ernie::kernels {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t M, int64_t H, float eps) {
  if (H <= 0) return;
#pragma omp parallel for schedule(static) if (M * H > 1 << 14)
  for (int64_t r = 0; r < M; ++r) {
    const float* xr = x + r * H;
    float* yr = y + r * H;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < H; ++j) s += xr[j];
    const float mu = s / static_cast<float>(H);
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t j = 0; j < H; ++j) sq += (xr[j] - mu) * (xr[j] - mu);
    const float inv = 1.0f / std::sqrt(sq / static_cast<float>(H) + eps);
    mean[r] = mu;
    rstd[r] = inv;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) yr[j] = (xr[j] - mu) * inv * gamma[j] + beta[j];
  }
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t M, int64_t H, bool accumulate_dx) {
  if (M <= 0 || H <= 0) return;
  if (dgamma || dbeta) {
    constexpr int64_t kCols = 64;
    const int64_t blocks = (H + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (M * H > 1 << 14)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kCols, w = std::min(H, c0 + kCols) - c0;
      double ag[kCols] = {}, ab[kCols] = {};
      for (int64_t r = 0; r < M; ++r) {
        const float* xr = x + r * H + c0;
        const float* gr = dy + r * H + c0;
        const float mu = mean[r], inv = rstd[r];
        for (int64_t j = 0; j < w; ++j) {
          ag[j] += static_cast<double>(gr[j]) * ((xr[j] - mu) * inv);
          ab[j] += gr[j];
        }
      }
      if (dgamma)
        for (int64_t j = 0; j < w; ++j) dgamma[c0 + j] += static_cast<float>(ag[j]);
      if (dbeta)
        for (int64_t j = 0; j < w; ++j) dbeta[c0 + j] += static_cast<float>(ab[j]);
    }
  }
  if (dx) {
#pragma omp parallel for schedule(static) if (M * H > 1 << 14)
    for (int64_t r = 0; r < M; ++r) {
      const float* xr = x + r * H;
      const float* gr = dy + r * H;
      float* out = dx + r * H;
      const float mu = mean[r], inv = rstd[r];
      float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
      for (int64_t j = 0; j < H; ++j) {
        const float g = gr[j] * gamma[j];
        sg += g;
        sgx += g * (xr[j] - mu) * inv;
      }
      const float mg = sg / static_cast<float>(H), mgx = sgx / static_cast<float>(H);
      if (accumulate_dx) {
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) out[j] += inv * (gr[j] * gamma[j] - mg - (xr[j] - mu) * inv * mgx);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) out[j] = inv * (gr[j] * gamma[j] - mg - (xr[j] - mu) * inv * mgx);
      }
    }
  }
}

}  // namespace ernie::kernels

#include <cmath>

#include "kernels/kernels.h"

namespace ernie::kernels {

void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta, int64_t M,
                    int64_t H, float eps) {
#pragma omp parallel for schedule(static) if (M * H > 1 << 15)
  for (int64_t r = 0; r < M; ++r) {
    float* row = x + r * H;
    if (residual) {
      const float* res = residual + r * H;
      for (int64_t j = 0; j < H; ++j) row[j] += res[j];
    }
    // Two passes in double: mean, then the (biased) variance as torch.layer_norm computes it.
    double sum = 0.0;
    for (int64_t j = 0; j < H; ++j) sum += row[j];
    const double mean = sum / H;
    double sq = 0.0;
    for (int64_t j = 0; j < H; ++j) sq += (row[j] - mean) * (row[j] - mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / H + eps));
    const float m = static_cast<float>(mean);
    for (int64_t j = 0; j < H; ++j) row[j] = (row[j] - m) * inv * gamma[j] + beta[j];
  }
}

}  // namespace ernie::kernels

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

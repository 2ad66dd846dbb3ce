// Training's Linear backward. Both products go through dnnl_sgemm (row-major BLAS); the bias
// gradient is a plain column sum, each column summed over the rows in order (deterministic for
// any thread count: threads split the columns, never the rows).
#include <algorithm>
#include <cstring>

#include <oneapi/dnnl/dnnl.h>

#include "ernie/error.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

namespace {
void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success)
    throw Error("linear_backward: dnnl_sgemm failed");
}
}  // namespace

void linear_backward(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db, int64_t M,
                     int64_t K, int64_t N, bool accumulate_dx) {
  if (M <= 0 || K < 0 || N < 0) return;
  if (dx) {
    if (N == 0) {
      if (!accumulate_dx) std::memset(dx, 0, sizeof(float) * M * K);
    } else if (K > 0) {
      // dx[M, K] (=|+=) dy[M, N] · W[N, K]
      sgemm('N', 'N', M, K, N, 1.0f, dy, N, W, K, accumulate_dx ? 1.0f : 0.0f, dx, K);
    }
  }
  if (dW && N > 0 && K > 0) sgemm('T', 'N', N, K, M, 1.0f, dy, N, x, K, 1.0f, dW, K);   // dW += dyᵀ · x
  if (db && N > 0) {
    constexpr int64_t kCols = 64;
    const int64_t blocks = (N + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (M * N > 1 << 15)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kCols, c1 = std::min(N, c0 + kCols);
      double acc[kCols] = {};
      for (int64_t r = 0; r < M; ++r) {
        const float* row = dy + r * N;
        for (int64_t c = c0; c < c1; ++c) acc[c - c0] += row[c];
      }
      for (int64_t c = c0; c < c1; ++c) db[c] += static_cast<float>(acc[c - c0]);
    }
  }
}

}  // namespace ernie::kernels

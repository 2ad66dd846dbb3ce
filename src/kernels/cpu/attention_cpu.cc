// Self-attention per sequence of a packed batch. Each (sequence, head) pair is one task.
// Absolute positions: a task takes its queries in blocks of up to 128 rows; for each block it
// forms the scores with one small GEMM (Q_blk · K_hᵀ, read in place from the packed [T, heads*d]
// rows through leading dimensions), applies a vectorized softmax, and multiplies by V_h with a
// second GEMM straight into ctx. Scratch is one [128, L] block per thread, never a
// [B, heads, L, L] tensor. Relative kinds walk one query at a time (the reference loop below).
#include <algorithm>
#include <cmath>
#include <vector>

#include <oneapi/dnnl/dnnl.h>

#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

namespace {
inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

namespace {
constexpr int64_t kQueryBlock = 128;

void attention_gemm(const AttentionArgs& a) {
  const int64_t d = a.head_dim, width = a.heads * a.head_dim, ld = a.ld ? a.ld : width;
  const int64_t tasks = a.sequences * a.heads;
#pragma omp parallel if (tasks > 1)
  {
    std::vector<float> scores;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t s = task / a.heads, h = task % a.heads;
      const int64_t begin = a.offsets[s], L = a.offsets[s + 1] - begin;
      const float* K = a.k + begin * ld + h * d;
      const float* V = a.v + begin * ld + h * d;
      for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, L - i0);
        if (scores.size() < static_cast<size_t>(rows * L)) scores.resize(rows * L);
        float* S = scores.data();
        const float* Q = a.q + (begin + i0) * ld + h * d;
        dnnl_sgemm('N', 'T', rows, L, d, 1.0f, Q, ld, K, ld, 0.0f, S, L);
        for (int64_t i = 0; i < rows; ++i) vec::softmax_row(S + i * L, L, a.scale);
        dnnl_sgemm('N', 'N', rows, d, L, 1.0f, S, L, V, ld, 0.0f, a.ctx + (begin + i0) * width + h * d, width);
      }
    }
  }
}
}  // namespace

void attention(const AttentionArgs& a) {
  if (a.kind != PositionKind::RelativeKey && a.kind != PositionKind::RelativeKeyQuery) return attention_gemm(a);
  const int64_t d = a.head_dim, width = a.heads * a.head_dim, ld = a.ld ? a.ld : width;
  const bool rel_key = a.kind == PositionKind::RelativeKey || a.kind == PositionKind::RelativeKeyQuery;
  const bool rel_query = a.kind == PositionKind::RelativeKeyQuery;
  const int64_t tasks = a.sequences * a.heads;

#pragma omp parallel
  {
    std::vector<float> scores;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t s = task / a.heads, h = task % a.heads;
      const int64_t begin = a.offsets[s], L = a.offsets[s + 1] - begin;
      scores.resize(L);
      for (int64_t i = 0; i < L; ++i) {
        const int64_t ti = begin + i;
        const float* qi = a.q + ti * ld + h * d;
        float best = -INFINITY;
        for (int64_t j = 0; j < L; ++j) {
          const int64_t tj = begin + j;
          const float* kj = a.k + tj * ld + h * d;
          float sc = dot(qi, kj, d);
          if (rel_key) {
            // distance_embedding row for (query column - key column), shifted to be >= 0.
            const float* r = a.distance + (a.column[ti] - a.column[tj] + a.max_positions - 1) * d;
            sc += dot(qi, r, d);
            if (rel_query) sc += dot(kj, r, d);
          }
          sc *= a.scale;
          scores[j] = sc;
          best = std::max(best, sc);
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < L; ++j) {
          scores[j] = std::exp(scores[j] - best);
          sum += scores[j];
        }
        float* out = a.ctx + ti * width + h * d;
        std::fill(out, out + d, 0.0f);
        for (int64_t j = 0; j < L; ++j) {
          const float* vj = a.v + (begin + j) * ld + h * d;
          const float p = scores[j];
#pragma omp simd
          for (int64_t c = 0; c < d; ++c) out[c] += p * vj[c];
        }
        const float inv = 1.0f / sum;
        for (int64_t c = 0; c < d; ++c) out[c] *= inv;
      }
    }
  }
}

}  // namespace ernie::kernels

// Self-attention per sequence of a packed batch. Each (sequence, head) pair is one task; a task
// walks its queries with one row of scores in thread-local scratch, so memory is O(L) per thread
// instead of a [B, heads, L, L] tensor.
#include <algorithm>
#include <cmath>
#include <vector>

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

void attention(const AttentionArgs& a) {
  const int64_t d = a.head_dim, width = a.heads * a.head_dim;
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
        const float* qi = a.q + ti * width + h * d;
        float best = -INFINITY;
        for (int64_t j = 0; j < L; ++j) {
          const int64_t tj = begin + j;
          const float* kj = a.k + tj * width + h * d;
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
          const float* vj = a.v + (begin + j) * width + h * d;
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

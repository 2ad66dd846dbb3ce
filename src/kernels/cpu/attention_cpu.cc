// Self-attention per sequence of a packed batch. Each (sequence, head) pair is one task.
// Absolute positions: a task takes its queries in blocks of up to 128 rows; for each block it
// forms the scores with one small GEMM (Q_blk · K_hᵀ, read in place from the packed [T, heads*d]
// rows through leading dimensions), applies a vectorized softmax, and multiplies by V_h with a
// second GEMM straight into ctx. Scratch is one [128, L] block per thread, never a
// [B, heads, L, L] tensor. Relative kinds walk one query at a time (the reference loop below).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.h>

#include "ernie/error.h"
#include "kernels/cpu/dropout_cpu.h"
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

// Dropout element (s, h, i, j) of the probabilities: index prob_index(s, h, i) + j of key's stream.
inline uint64_t prob_index(const AttentionArgs& a, int64_t s, int64_t h, int64_t i) {
  const uint64_t m = static_cast<uint64_t>(a.max_positions);
  return ((static_cast<uint64_t>(s + a.first_sequence) * a.heads + h) * m + static_cast<uint64_t>(i)) * m;
}

// With p > 0 (training), dropout on the probabilities before ·V.
void attention_gemm(const AttentionArgs& a, float p = 0.0f, DropoutKey key = {}) {
  const float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
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
        for (int64_t i = 0; i < rows; ++i) {
          vec::softmax_row(S + i * L, L, a.scale);
          if (p > 0.0f) detail::dropout_span(S + i * L, L, p, keep_scale, key, prob_index(a, s, h, i0 + i));
        }
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

// ---------------------------------------------------------------------------------------------
// Training attention (absolute positions). Per (sequence s, head h) task, with L the sequence's
// length, Q, K, V its [L, d] slices (row stride ld) and scale = a.scale:
//   forward:  S = Q Kᵀ, P = softmax(S * scale), P' = dropout(P), ctx = P' V
//   backward: recompute S and P (full [L, L], per-thread scratch), then
//             dV = P'ᵀ dctx,  dP' = dctx Vᵀ,  dP = dP' ⊙ mask / (1 - p),
//             dS = P ⊙ (dP - rowsum(dP ⊙ P)),  dQ = dS K * scale,  dK = dSᵀ Q * scale.
// Element (i, j) of P uses dropout index ((s * heads + h) * max_len + i) * max_len + j of the key's
// stream (max_len = a.max_positions), through the same span function as kernels::dropout.
// The forward takes its queries in the same 128-row blocks with the same calls as attention(), so
// at p = 0 its output is bitwise attention()'s. Each task writes its own rows/columns only.
// ---------------------------------------------------------------------------------------------

namespace ernie::kernels {

namespace {
void check_train_args(const AttentionArgs& a, float p) {
  if (a.kind == PositionKind::RelativeKey || a.kind == PositionKind::RelativeKeyQuery)
    throw Error("training supports absolute position embeddings only");
  if (!(p >= 0.0f) || p >= 1.0f) throw Error("attention dropout must be in [0, 1), got " + std::to_string(p));
  if (p > 0.0f)
    for (int64_t s = 0; s < a.sequences; ++s)
      if (a.offsets[s + 1] - a.offsets[s] > a.max_positions)
        throw Error("attention dropout: a sequence of " + std::to_string(a.offsets[s + 1] - a.offsets[s]) +
                    " tokens exceeds max_positions " + std::to_string(a.max_positions));
}

void gemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success)
    throw Error("attention: dnnl_sgemm failed");
}
}  // namespace

void attention_forward_train(const AttentionArgs& a, float p, DropoutKey key) {
  check_train_args(a, p);
  attention_gemm(a, p, key);
}

void attention_backward(const AttentionArgs& a, float p, DropoutKey key, const float* dctx, float* dq, float* dk,
                        float* dv) {
  check_train_args(a, p);
  const float keep_scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  const int64_t d = a.head_dim, width = a.heads * a.head_dim, ld = a.ld ? a.ld : width;
  const int64_t tasks = a.sequences * a.heads;
#pragma omp parallel if (tasks > 1)
  {
    std::vector<float> probs, work;   // [L, L] each: P, then P' / dP' / dP / dS in place
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t s = task / a.heads, h = task % a.heads;
      const int64_t begin = a.offsets[s], L = a.offsets[s + 1] - begin;
      if (L <= 0) continue;
      const size_t LL = static_cast<size_t>(L * L);
      if (probs.size() < LL) {
        probs.resize(LL);
        work.resize(LL);
      }
      float* P = probs.data();
      float* W = work.data();
      const float* Q = a.q + begin * ld + h * d;
      const float* K = a.k + begin * ld + h * d;
      const float* V = a.v + begin * ld + h * d;
      const float* dC = dctx + begin * width + h * d;
      float* dQ = dq + begin * ld + h * d;
      float* dK = dk + begin * ld + h * d;
      float* dV = dv + begin * ld + h * d;

      gemm('N', 'T', L, L, d, 1.0f, Q, ld, K, ld, 0.0f, P, L);   // S = Q Kᵀ
      for (int64_t i = 0; i < L; ++i) vec::softmax_row(P + i * L, L, a.scale);
      // P' = dropout(P); dV = P'ᵀ dctx
      const float* Pd = P;
      if (p > 0.0f) {
        std::copy(P, P + LL, W);
        for (int64_t i = 0; i < L; ++i) detail::dropout_span(W + i * L, L, p, keep_scale, key, prob_index(a, s, h, i));
        Pd = W;
      }
      gemm('T', 'N', L, d, L, 1.0f, Pd, L, dC, width, 0.0f, dV, ld);
      // dP' = dctx Vᵀ, then dP = dP' ⊙ mask / (1 - p) (the same dropout on the gradient)
      gemm('N', 'T', L, L, d, 1.0f, dC, width, V, ld, 0.0f, W, L);
      if (p > 0.0f)
        for (int64_t i = 0; i < L; ++i) detail::dropout_span(W + i * L, L, p, keep_scale, key, prob_index(a, s, h, i));
      // dS = P ⊙ (dP - rowsum(dP ⊙ P))
      for (int64_t i = 0; i < L; ++i) {
        const float* pr = P + i * L;
        float* wr = W + i * L;
        float r = 0.0f;
#pragma omp simd reduction(+ : r)
        for (int64_t j = 0; j < L; ++j) r += wr[j] * pr[j];
#pragma omp simd
        for (int64_t j = 0; j < L; ++j) wr[j] = pr[j] * (wr[j] - r);
      }
      gemm('N', 'N', L, d, L, a.scale, W, L, K, ld, 0.0f, dQ, ld);   // dQ = dS K * scale
      gemm('T', 'N', L, d, L, a.scale, W, L, Q, ld, 0.0f, dK, ld);   // dK = dSᵀ Q * scale
    }
  }
}

}  // namespace ernie::kernels

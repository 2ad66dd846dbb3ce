// CPU primitives the model is assembled from. Plain functions over float buffers; shapes in
// comments ([rows, cols], row-major). The per-device implementations live in kernels/cpu/*.cc
// (a CUDA sibling would sit in kernels/cuda/).
#pragma once
#include <cstdint>

#include "ernie/config.h"

namespace ernie::kernels {

// y[M, N] = x[M, K] · W[N, K]ᵀ + b[N]   (W in PyTorch's [out, in] layout; b may be null).
// Runs through oneDNN matmul; primitives are created once per shape and reused.
void linear(const float* x, const float* W, const float* b, float* y, int64_t M, int64_t K, int64_t N);

// In place over n values, with Hugging Face's definition of each activation.
void activate(Activation act, float* x, int64_t n);

// x[M, H] = LayerNorm(x + residual) * gamma + beta  (residual may be null).
void add_layer_norm(float* x, const float* residual, const float* gamma, const float* beta, int64_t M,
                    int64_t H, float eps);

// Multi-head self-attention over a packed ragged batch. q, k, v, ctx: [T, heads * d]; sequence s
// is rows offsets[s] .. offsets[s+1]-1 and attends only to itself. Scores are
// (q·k + rel) * scale, softmax over keys, then ·v; no [T, T] or [heads, L, L] buffer is built.
struct AttentionArgs {
  const float* q;
  const float* k;
  const float* v;
  float* ctx;
  const int64_t* offsets;    // [S+1]
  int64_t sequences;
  int64_t heads, head_dim;
  float scale;               // 1/sqrt(head_dim)
  // Relative positions (HF relative_key / relative_key_query); null when absolute.
  PositionKind kind = PositionKind::Absolute;
  const float* distance;     // [2 * max_positions - 1, head_dim]
  int64_t max_positions = 0;
  const int32_t* column;     // [T] position of each token in its row (for distances)
};
void attention(const AttentionArgs& a);

}  // namespace ernie::kernels

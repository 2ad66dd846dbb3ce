// CPU primitives the model is assembled from. Plain functions over float buffers; shapes in
// comments ([rows, cols], row-major). The per-device implementations live in kernels/cpu/*.cc
// (a CUDA sibling would sit in kernels/cuda/).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "ernie/config.h"

namespace ernie::kernels {

// y[M, N] = x[M, K] · W[N, K]ᵀ + b[N]   (W in PyTorch's [out, in] layout, read in place; b may be
// null). Runs through oneDNN matmul with a runtime row count; one primitive per (K, N, bias).
void linear(const float* x, const float* W, const float* b, float* y, int64_t M, int64_t K, int64_t N);

// A Linear layer packed once for repeated use: its weights (and a copy of its bias) in the
// precision it multiplies in and in the layout of the kernel that multiplies them (see
// linear_cpu.cc): fp32 in libxsmm column panels; bf16 (AVX512-BF16/AMX) and int8 in oneDNN's
// blocked brgemm layout; int8 as per-output-channel int8 weights (7-bit range) with their scales.
// The [out, in] original is not referenced after packing; unpack_linear gives it back.
enum class MatType { F32, BF16, S8 };
// Which kernel multiplies fp32 (and emulated bf16): Auto picks libxsmm where it was built in and
// can generate code for this CPU (ERNIE_LINEAR_KERNEL=onednn overrides), else oneDNN. int8: Auto
// picks oneDNN where it has a packed (brgemm) kernel, else (AVX2, AVX-VNNI) ernie's own panels and
// kernel; Onednn forces oneDNN (gemm:jit there, which copies the weights on every call).
enum class LinearKernel { Auto, Libxsmm, Onednn };
struct PackedLinear;
std::shared_ptr<const PackedLinear> pack_linear(const float* W, const float* b, int64_t K, int64_t N, MatType type,
                                                LinearKernel kernel = LinearKernel::Auto);
// The same from weights already quantized: q [N, K] int8 and scale [N] (an int8 checkpoint).
std::shared_ptr<const PackedLinear> pack_linear_s8(const int8_t* q, const float* scale, const float* b, int64_t K,
                                                   int64_t N, LinearKernel kernel = LinearKernel::Auto);
// Per-output-channel symmetric quantization of W [N, K] to q (values in [-63, 63]) and scale [N].
void quantize_weights(const float* W, int64_t K, int64_t N, int8_t* q, float* scale);
// W [N, K] back from a packed layer: exactly the packed values (fp32 exact; bf16 and q · scale as stored).
void unpack_linear(const PackedLinear& p, float* W);
const float* packed_bias(const PackedLinear& p);   // [N] or null
int64_t packed_in(const PackedLinear& p);          // K
int64_t packed_out(const PackedLinear& p);         // N
MatType packed_type(const PackedLinear& p);
size_t packed_bytes(const PackedLinear& p);        // heap bytes held (weights, bias, scales)
// "libxsmm", "libxsmm/brgemm", "onednn-blocked", "onednn-plain" or "int8-panels/avx2" (or /avx-vnni)
std::string packed_kernel(const PackedLinear& p);

// y[M, N] = act(x[M, K] · Wᵀ + b), or with accumulate: y += x · Wᵀ + b (a fused residual add;
// act must then be Linear). Any row count; for a given row count and thread count the result is
// the same bits every time.
void linear(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act = Activation::Linear,
            bool accumulate = false);

// The feed-forward block: x[M, H] += act(x · W1ᵀ + b1) · W2ᵀ + b2 (up: H -> I, down: I -> H),
// with inner [M, I] fp32 as scratch. The same bits as linear(up, x, inner, M, act) followed by
// linear(down, inner, x, M, Linear, true); with bf16 or int8 products the intermediate stays in
// their format (bf16 rows; u8 rows and scales) instead of being written as fp32 and converted.
void feed_forward(const PackedLinear& up, const PackedLinear& down, float* x, float* inner, int64_t M,
                  Activation act);

// A one-line description of the instruction set oneDNN dispatches to ("avx2", "avx512_core_bf16", ...).
std::string matmul_isa();
// Whether matrix products of this type run on native instructions here (bf16 needs AVX512-BF16/AMX).
bool native_support(MatType type);

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
  float* ctx;                // [T, heads * d], contiguous
  int64_t ld = 0;            // row stride of q, k, v (0: heads * d; 3 * heads * d for a fused QKV)
  const int64_t* offsets;    // [S+1]
  int64_t sequences;
  int64_t heads, head_dim;
  float scale;               // 1/sqrt(head_dim)
  // Relative positions (HF relative_key / relative_key_query); null when absolute.
  PositionKind kind = PositionKind::Absolute;
  const float* distance;     // [2 * max_positions - 1, head_dim]
  int64_t max_positions = 0;
  const int32_t* column;     // [T] position of each token in its row (for distances)
  int64_t first_sequence = 0;   // training: index of sequence 0 in the whole batch (dropout masks)
};
void attention(const AttentionArgs& a);

}  // namespace ernie::kernels

// ---------------------------------------------------------------------------------------------
// Training: each op's backward beside its forward (the forward above when it saves nothing).
// d<name> is the gradient of the loss with respect to <name>. Parameter gradients (dW, db, dgamma,
// dbeta) always accumulate (+=), so gradient accumulation over micro-batches is free; input
// gradients (dx) overwrite unless `accumulate_dx` says +=.
// ---------------------------------------------------------------------------------------------
namespace ernie::kernels {

// Linear (y = x · Wᵀ + b):  dx[M, K] (=|+=) dy[M, N] · W[N, K];  dW[N, K] += dyᵀ · x;
// db[N] += Σ_rows dy. dx, dW or db may be null (not wanted).
void linear_backward(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db, int64_t M,
                     int64_t K, int64_t N, bool accumulate_dx = false);

// Activation: dx[n] = dy[n] * act'(x[n]), x the activation's *input*. dx may alias dy.
void activation_backward(Activation act, const float* x, const float* dy, float* dx, int64_t n);

// LayerNorm that keeps what backward needs: y[M, H] = (x - mean) * rstd * gamma + beta, with
// mean[M] and rstd[M] = 1 / sqrt(var + eps) saved. y may alias x.
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t M, int64_t H, float eps);
// dx[M, H] (=|+=) dLN/dx · dy;  dgamma[H] += Σ dy * x̂;  dbeta[H] += Σ dy. x is LayerNorm's input.
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t M, int64_t H, bool accumulate_dx = false);

// Dropout with a counter-based mask: element i is kept (and scaled by 1 / (1 - p)) iff
// uniform(seed, stream, i) >= p, so the mask depends only on (seed, stream, i): the same for any
// thread count, and backward (the same call on the gradient) regenerates it without storing it.
// `first` is the index of x[0] in the stream (lets callers split one stream over calls). p = 0: no-op.
struct DropoutKey {
  uint64_t seed = 0;
  uint64_t stream = 0;
};
void dropout(float* x, int64_t n, float p, DropoutKey key, uint64_t first = 0);

// Training attention over a packed ragged batch (absolute positions only), with dropout p on the
// attention probabilities. Element (s, h, i, j) of the probabilities uses index
// ((s * heads + h) * max_len + i) * max_len + j of `key`'s stream (max_len = a.max_positions).
// Saves nothing: backward recomputes the probabilities per (sequence, head).
void attention_forward_train(const AttentionArgs& a, float p, DropoutKey key);
// dq, dk, dv [T, heads * d] (row stride a.ld like q, k, v) from dctx [T, heads * d]; overwrites.
void attention_backward(const AttentionArgs& a, float p, DropoutKey key, const float* dctx, float* dq, float* dk,
                        float* dv);

// Losses over logits [B, N], each returning the mean loss over the B rows and writing
// dlogits[B, N] = d(mean loss)/dlogits * scale (scale: e.g. 1 / grad_accum).
// Single-label: labels[B] in [0, N). Multi-label: targets[B, N] in {0, 1} (BCE with logits,
// mean over B * N as PyTorch's BCEWithLogitsLoss). Regression: targets[B, N] (MSE, mean over B * N).
float cross_entropy(const float* logits, const int32_t* labels, float* dlogits, int64_t B, int64_t N, float scale = 1.0f);
float bce_with_logits(const float* logits, const float* targets, float* dlogits, int64_t B, int64_t N,
                      float scale = 1.0f);
float mse(const float* pred, const float* targets, float* dpred, int64_t B, int64_t N, float scale = 1.0f);

}  // namespace ernie::kernels

// Vectorized row kernels (Google Highway, dispatched at run time to the best instruction set the
// CPU has: AVX2, AVX-512, NEON, ...). One call handles one row; callers parallelize over rows.
#pragma once
#include <cstdint>

#include "ernie/config.h"

namespace ernie::kernels::vec {

// x[H] = LayerNorm(x + res) * gamma + beta   (res may be null); two-pass mean/variance.
void layer_norm_row(float* x, const float* res, const float* gamma, const float* beta, int64_t H, float eps);
// y[H] = a + b (+ c) (+ d)   (c, d may be null): the embedding sum.
void sum_rows(float* y, const float* a, const float* b, const float* c, const float* d, int64_t H);
// s[n] = softmax(s * scale) in place.
void softmax_row(float* s, int64_t n, float scale);
// q[K] = round(x / scale) + 128 as u8, scale = max|x| / 127 (returned; 0 rows give scale 0).
float quantize_row_u8(const float* x, int64_t K, uint8_t* q);
// Symmetric: q[K] = round(x / scale) in [-levels, levels], scale = max|x| / levels (returned;
// 0 rows give scale 0); rounding to nearest even, as lrintf.
float quantize_row_s8(const float* x, int64_t K, int levels, int8_t* q);
// y[N] (=|+=) (acc - comp) * sx * wscale + bias, then relu if asked.
void dequant_row(const int32_t* acc, const int32_t* comp, const float* wscale, float sx, const float* bias, float* y,
                 int64_t N, bool relu, bool accumulate);
// y[r * ldy + j] = act(acc[r * lda + j] + bias[j]) for r < rows, j < n, or y += acc + bias with
// accumulate (act must then be Linear); bias may be null. The activations are vectorized with the
// same formulas as oneDNN's eltwise post-ops (erf by Abramowitz-Stegun 7.1.26, |error| < 1.5e-7;
// tanh and exp from Highway's math library).
void bias_act_block(const float* acc, int64_t lda, const float* bias, float* y, int64_t ldy, int64_t rows, int64_t n,
                    Activation act, bool accumulate);
// x[n] = act(x) in place, vectorized as bias_act_block.
void activate_row(float* x, int64_t n, Activation act);
// Round-to-nearest-even fp32 -> bf16 (raw bits).
void to_bf16_row(const float* x, uint16_t* y, int64_t n);
// y[n] = x rounded to the nearest bf16 value (round to nearest even), kept as fp32.
void round_bf16_row(const float* x, float* y, int64_t n);
// y[n] = the bf16 values x (raw bits) as fp32 (exact).
void bf16_to_f32_row(const uint16_t* x, float* y, int64_t n);

}  // namespace ernie::kernels::vec

// The feed-forward block x += act(x · W1ᵀ + b1) · W2ᵀ + b2 as one kernel, so that the [M, I]
// intermediate (I = 4H, the largest activation of a layer) stays in the format the second
// product reads: bf16 rows written by oneDNN's bf16 product itself, or, for int8, u8 rows with
// their scales quantized straight from the first product's s32 sums one row at a time in L1.
// Either way the fp32 intermediate is neither written nor read back and converted. The results
// are those of the two linear() calls it replaces (the same roundings in the same order).
#include <algorithm>
#include <vector>

#include "ernie/error.h"
#include "kernels/cpu/linear_cpu.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

namespace {
using namespace detail;

// bf16 products on oneDNN (AVX512-BF16 / AMX) for both layers, with an activation oneDNN fuses.
bool fused_bf16(const PackedLinear& up, const PackedLinear& down, Activation act) {
  return up.type == MatType::BF16 && down.type == MatType::BF16 && up.prod == MatType::BF16 &&
         down.prod == MatType::BF16 && up.kernel == LinearKernel::Onednn && down.kernel == LinearKernel::Onednn &&
         fuses_activation(act);
}

void feed_forward_bf16(const PackedLinear& up, const PackedLinear& down, float* x, float* inner, int64_t M,
                       Activation act) {
  const uint16_t* xr = to_bf16_rows(x, M, up.K);
  uint16_t* mid = reinterpret_cast<uint16_t*>(inner);   // [M, I] bf16 in the fp32 buffer's first half
  linear_onednn(up, xr, mid, M, act, /*accumulate=*/false, /*bf16_out=*/true);
  linear_onednn(down, mid, x, M, Activation::Linear, /*accumulate=*/true);
}

void feed_forward_s8(const PackedLinear& up, const PackedLinear& down, float* x, int64_t M, Activation act) {
  const int64_t H = up.K, I = up.N;
  const int64_t Mp1 = s8_padded_rows(up, M), Mp2 = s8_padded_rows(down, M);
  Scratch& t = thread_scratch();
  uint8_t* q1 = scratch(t.q, Mp1 * H);
  uint8_t* q2 = scratch(t.q2, Mp2 * I);
  float* s1 = scratch(t.s, M);
  float* s2 = scratch(t.s2, M);
  int32_t* acc = scratch(t.acc, std::max(Mp1 * I, Mp2 * H));
  s8_quantize_rows(x, M, H, Mp1, q1, s1);
  s8_product(up, q1, M, acc);
#pragma omp parallel if (M * I > 1 << 14)
  {
    std::vector<float> row(I);   // one dequantized row, in L1, quantized again at once
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) {
      s8_dequantize_row(up, acc + m * I, s1[m], row.data(), act, false);
      s2[m] = vec::quantize_row_u8(row.data(), I, q2 + m * I);
    }
  }
  std::fill(q2 + M * I, q2 + Mp2 * I, uint8_t{128});   // padding rows: the u8 zero point
  s8_product(down, q2, M, acc);
#pragma omp parallel for schedule(static) if (M * H > 1 << 14)
  for (int64_t m = 0; m < M; ++m) s8_dequantize_row(down, acc + m * H, s2[m], x + m * H, Activation::Linear, true);
}
}  // namespace

void feed_forward(const PackedLinear& up, const PackedLinear& down, float* x, float* inner, int64_t M,
                  Activation act) {
  if (M <= 0) return;
  if (up.N != down.K || up.K != down.N) throw Error("feed_forward: the two layers' shapes do not chain");
  if (up.type == MatType::S8 && down.type == MatType::S8) return feed_forward_s8(up, down, x, M, act);
  if (fused_bf16(up, down, act)) return feed_forward_bf16(up, down, x, inner, M, act);
  linear(up, x, inner, M, act);
  linear(down, inner, x, M, Activation::Linear, /*accumulate=*/true);
}

}  // namespace ernie::kernels

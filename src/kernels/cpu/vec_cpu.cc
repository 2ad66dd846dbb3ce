// Row kernels with Google Highway: this file is compiled once per target instruction set
// (foreach_target.h re-includes it) and HWY_DYNAMIC_DISPATCH picks the best one at run time.
#include <cmath>
#include <cstring>

#include "kernels/cpu/vec.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/vec_cpu.cc"
#include "hwy/foreach_target.h"   // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ernie::kernels::vec {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void LayerNormRow(float* x, const float* res, const float* gamma, const float* beta, int64_t H, float eps) {
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  auto acc = hn::Zero(d);
  float tail = 0.0f;
  for (; j + L <= H; j += L) {
    auto v = hn::LoadU(d, x + j);
    if (res) {
      v = hn::Add(v, hn::LoadU(d, res + j));
      hn::StoreU(v, d, x + j);
    }
    acc = hn::Add(acc, v);
  }
  for (; j < H; ++j) {
    if (res) x[j] += res[j];
    tail += x[j];
  }
  const float mean = (hn::GetLane(hn::SumOfLanes(d, acc)) + tail) / static_cast<float>(H);
  const auto vm = hn::Set(d, mean);
  auto sq = hn::Zero(d);
  float sqt = 0.0f;
  for (j = 0; j + L <= H; j += L) {
    const auto c = hn::Sub(hn::LoadU(d, x + j), vm);
    sq = hn::MulAdd(c, c, sq);
  }
  for (; j < H; ++j) sqt += (x[j] - mean) * (x[j] - mean);
  const float var = (hn::GetLane(hn::SumOfLanes(d, sq)) + sqt) / static_cast<float>(H);
  const float inv = 1.0f / std::sqrt(var + eps);
  const auto vi = hn::Set(d, inv);
  for (j = 0; j + L <= H; j += L) {
    const auto c = hn::Mul(hn::Sub(hn::LoadU(d, x + j), vm), vi);
    hn::StoreU(hn::MulAdd(c, hn::LoadU(d, gamma + j), hn::LoadU(d, beta + j)), d, x + j);
  }
  for (; j < H; ++j) x[j] = (x[j] - mean) * inv * gamma[j] + beta[j];
}

void SumRows(float* y, const float* a, const float* b, const float* c, const float* e, int64_t H) {
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  for (; j + L <= H; j += L) {
    auto v = hn::Add(hn::LoadU(d, a + j), hn::LoadU(d, b + j));
    if (c) v = hn::Add(v, hn::LoadU(d, c + j));
    if (e) v = hn::Add(v, hn::LoadU(d, e + j));
    hn::StoreU(v, d, y + j);
  }
  for (; j < H; ++j) y[j] = a[j] + b[j] + (c ? c[j] : 0.0f) + (e ? e[j] : 0.0f);
}

void SoftmaxRow(float* s, int64_t n, float scale) {
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  float best = -INFINITY;
  auto vmax = hn::Set(d, -INFINITY);
  for (; j + L <= n; j += L) vmax = hn::Max(vmax, hn::LoadU(d, s + j));
  for (; j < n; ++j) best = std::max(best, s[j]);
  best = std::max(best, hn::GetLane(hn::MaxOfLanes(d, vmax)));
  const auto vs = hn::Set(d, scale), vb = hn::Set(d, best * scale);
  auto vsum = hn::Zero(d);
  float sum = 0.0f;
  for (j = 0; j + L <= n; j += L) {
    const auto e = hn::Exp(d, hn::MulSub(hn::LoadU(d, s + j), vs, vb));
    vsum = hn::Add(vsum, e);
    hn::StoreU(e, d, s + j);
  }
  for (; j < n; ++j) {
    s[j] = std::exp(s[j] * scale - best * scale);
    sum += s[j];
  }
  const float inv = 1.0f / (sum + hn::GetLane(hn::SumOfLanes(d, vsum)));
  const auto vi = hn::Set(d, inv);
  for (j = 0; j + L <= n; j += L) hn::StoreU(hn::Mul(hn::LoadU(d, s + j), vi), d, s + j);
  for (; j < n; ++j) s[j] *= inv;
}

// max |x[j]| over a row.
float RowAbsMax(const float* x, int64_t K) {
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  // Four independent maxima: one chain waits out Max's latency (4 cycles) on every vector. The
  // maximum is exact, so the result does not depend on the order.
  auto m0 = hn::Zero(d), m1 = m0, m2 = m0, m3 = m0;
  for (; j + 4 * L <= K; j += 4 * L) {
    m0 = hn::Max(m0, hn::Abs(hn::LoadU(d, x + j)));
    m1 = hn::Max(m1, hn::Abs(hn::LoadU(d, x + j + L)));
    m2 = hn::Max(m2, hn::Abs(hn::LoadU(d, x + j + 2 * L)));
    m3 = hn::Max(m3, hn::Abs(hn::LoadU(d, x + j + 3 * L)));
  }
  for (; j + L <= K; j += L) m0 = hn::Max(m0, hn::Abs(hn::LoadU(d, x + j)));
  float amax = 0.0f;
  for (; j < K; ++j) amax = std::max(amax, std::fabs(x[j]));
  const auto vmax = hn::Max(hn::Max(m0, m1), hn::Max(m2, m3));
  return std::max(amax, hn::GetLane(hn::MaxOfLanes(d, vmax)));
}

float QuantizeRowU8(const float* x, int64_t K, uint8_t* q) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<uint8_t, decltype(d)> du8;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  const float amax = RowAbsMax(x, K);
  const float scale = amax / 127.0f;
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  const auto vi = hn::Set(d, inv);
  const auto off = hn::Set(di, 128);
  for (; j + L <= K; j += L) {
    const auto r = hn::Add(hn::NearestInt(hn::Mul(hn::LoadU(d, x + j), vi)), off);
    hn::StoreU(hn::DemoteTo(du8, r), du8, q + j);
  }
  for (; j < K; ++j) q[j] = static_cast<uint8_t>(std::lrintf(x[j] * inv) + 128);
  return scale;
}

float QuantizeRowS8(const float* x, int64_t K, int levels, int8_t* q) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  const float amax = RowAbsMax(x, K);
  const float inv = amax > 0.0f ? static_cast<float>(levels) / amax : 0.0f;
  const auto vi = hn::Set(d, inv);
  for (; j + L <= K; j += L) hn::StoreU(hn::DemoteTo(d8, hn::NearestInt(hn::Mul(hn::LoadU(d, x + j), vi))), d8, q + j);
  for (; j < K; ++j) q[j] = static_cast<int8_t>(std::lrintf(x[j] * inv));
  return amax / static_cast<float>(levels);
}

void DequantRow(const int32_t* acc, const int32_t* comp, const float* ws, float sx, const float* bias, float* y,
                int64_t N, bool relu, bool accumulate) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto vsx = hn::Set(d, sx), zero = hn::Zero(d);
  int64_t j = 0;
  for (; j + L <= N; j += L) {
    const auto a = hn::ConvertTo(d, hn::Sub(hn::LoadU(di, acc + j), hn::LoadU(di, comp + j)));
    auto v = hn::MulAdd(a, hn::Mul(vsx, hn::LoadU(d, ws + j)), bias ? hn::LoadU(d, bias + j) : zero);
    if (relu) v = hn::Max(v, zero);
    if (accumulate) v = hn::Add(v, hn::LoadU(d, y + j));
    hn::StoreU(v, d, y + j);
  }
  for (; j < N; ++j) {
    float v = static_cast<float>(acc[j] - comp[j]) * sx * ws[j] + (bias ? bias[j] : 0.0f);
    if (relu) v = v > 0.0f ? v : 0.0f;
    y[j] = accumulate ? y[j] + v : v;
  }
}

// act(v) for one vector, with the formulas of activation_cpu.cc (transformers' definitions).
template <class D, class V>
HWY_INLINE V Act(D d, V v, Activation act) {
  const auto half = hn::Set(d, 0.5f), one = hn::Set(d, 1.0f);
  // 1 / (1 + exp(-a)), exp's argument clamped to where it is finite
  auto sigmoid = [&](V a) { return hn::Div(one, hn::Add(one, hn::Exp(d, hn::Min(hn::Neg(a), hn::Set(d, 88.0f))))); };
  switch (act) {
    case Activation::Relu: return hn::Max(v, hn::Zero(d));
    case Activation::Gelu: {   // 0.5 v (1 + erf(v / sqrt 2)), erf by Abramowitz-Stegun 7.1.26
      const auto z = hn::Abs(hn::Mul(v, hn::Set(d, 0.7071067811865476f)));
      const auto t = hn::Div(one, hn::MulAdd(z, hn::Set(d, 0.3275911f), one));
      auto p = hn::Set(d, 1.061405429f);
      p = hn::MulAdd(p, t, hn::Set(d, -1.453152027f));
      p = hn::MulAdd(p, t, hn::Set(d, 1.421413741f));
      p = hn::MulAdd(p, t, hn::Set(d, -0.284496736f));
      p = hn::MulAdd(p, t, hn::Set(d, 0.254829592f));
      p = hn::Mul(p, t);
      const auto e = hn::Exp(d, hn::Max(hn::Neg(hn::Mul(z, z)), hn::Set(d, -88.0f)));
      const auto erf_abs = hn::NegMulAdd(p, e, one);   // 1 - p e
      const auto erf = hn::CopySignToAbs(erf_abs, v);
      return hn::Mul(hn::Mul(half, v), hn::Add(one, erf));
    }
    case Activation::GeluNew: {   // 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3)))
      const auto v3 = hn::Mul(hn::Mul(v, v), v);
      const auto in = hn::Mul(hn::Set(d, 0.7978845608028654f), hn::MulAdd(hn::Set(d, 0.044715f), v3, v));
      return hn::Mul(hn::Mul(half, v), hn::Add(one, hn::Tanh(d, in)));
    }
    case Activation::GeluFast: {   // 0.5 v (1 + tanh(v * 0.7978845608 * (1 + 0.044715 v^2)))
      const auto in = hn::Mul(hn::Mul(v, hn::Set(d, 0.7978845608f)), hn::MulAdd(hn::Set(d, 0.044715f), hn::Mul(v, v), one));
      return hn::Mul(hn::Mul(half, v), hn::Add(one, hn::Tanh(d, in)));
    }
    case Activation::QuickGelu: return hn::Mul(v, sigmoid(hn::Mul(v, hn::Set(d, 1.702f))));
    case Activation::Silu: return hn::Mul(v, sigmoid(v));
    case Activation::Tanh: return hn::Tanh(d, v);
    case Activation::Sigmoid: return sigmoid(v);
    case Activation::Linear: return v;
  }
  return v;
}

// One row; A is a template argument so that the activation's switch is resolved once per block.
template <Activation A, bool kAccumulate>
HWY_INLINE void BiasActRowT(const float* acc, const float* bias, float* y, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  for (; j + L <= n; j += L) {
    auto v = hn::LoadU(d, acc + j);
    if (bias) v = hn::Add(v, hn::LoadU(d, bias + j));
    if constexpr (kAccumulate) v = hn::Add(v, hn::LoadU(d, y + j));
    else if constexpr (A != Activation::Linear) v = Act(d, v, A);
    hn::StoreU(v, d, y + j);
  }
  if (j < n) {   // the tail through a padded vector: the same formulas as full vectors
    alignas(64) float buf[64] = {};   // >= the widest vector (2048-bit SVE)
    for (int64_t i = j; i < n; ++i) buf[i - j] = acc[i] + (bias ? bias[i] : 0.0f);
    auto v = hn::Load(d, buf);
    if constexpr (!kAccumulate && A != Activation::Linear) v = Act(d, v, A);
    hn::Store(v, d, buf);
    for (int64_t i = j; i < n; ++i) y[i] = kAccumulate ? y[i] + buf[i - j] : buf[i - j];
  }
}

template <Activation A, bool kAccumulate>
void BiasActBlockT(const float* acc, int64_t lda, const float* bias, float* y, int64_t ldy, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) BiasActRowT<A, kAccumulate>(acc + r * lda, bias, y + r * ldy, n);
}

void BiasActBlock(const float* acc, int64_t lda, const float* bias, float* y, int64_t ldy, int64_t rows, int64_t n,
                  Activation act, bool accumulate) {
  if (accumulate) return BiasActBlockT<Activation::Linear, true>(acc, lda, bias, y, ldy, rows, n);
  switch (act) {
#define ERNIE_ACT_CASE(A) \
  case Activation::A: return BiasActBlockT<Activation::A, false>(acc, lda, bias, y, ldy, rows, n);
    ERNIE_ACT_CASE(Linear)
    ERNIE_ACT_CASE(Relu)
    ERNIE_ACT_CASE(Gelu)
    ERNIE_ACT_CASE(GeluNew)
    ERNIE_ACT_CASE(GeluFast)
    ERNIE_ACT_CASE(QuickGelu)
    ERNIE_ACT_CASE(Silu)
    ERNIE_ACT_CASE(Tanh)
    ERNIE_ACT_CASE(Sigmoid)
#undef ERNIE_ACT_CASE
  }
}

void ActivateRow(float* x, int64_t n, Activation act) { BiasActBlock(x, n, nullptr, x, n, 1, n, act, false); }

// fp32 -> bf16 with round to nearest even, as integer arithmetic on the bits (the scalar tail the same).
inline uint32_t RoundedBf16Bits(uint32_t u) { return (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u; }

template <class D, class VU>
HWY_INLINE VU RoundBits(D du, VU u) {
  const auto lsb = hn::And(hn::ShiftRight<16>(u), hn::Set(du, 1u));
  return hn::And(hn::Add(hn::Add(u, hn::Set(du, 0x7fffu)), lsb), hn::Set(du, 0xffff0000u));
}

void ToBf16Row(const float* x, uint16_t* y, int64_t n) {
  const hn::ScalableTag<uint32_t> du;
  const hn::RebindToSigned<decltype(du)> di;
  const hn::Rebind<uint16_t, decltype(du)> d16;
  const int64_t L = static_cast<int64_t>(hn::Lanes(du));
  const uint32_t* xu = reinterpret_cast<const uint32_t*>(x);
  int64_t j = 0;
  for (; j + L <= n; j += L) {   // bits >> 16 fit in 16 bits: a saturating signed demotion is exact
    const auto hi = hn::BitCast(di, hn::ShiftRight<16>(RoundBits(du, hn::LoadU(du, xu + j))));
    hn::StoreU(hn::DemoteTo(d16, hi), d16, y + j);
  }
  for (; j < n; ++j) {
    uint32_t u;
    std::memcpy(&u, x + j, 4);
    y[j] = static_cast<uint16_t>(RoundedBf16Bits(u) >> 16);
  }
}

void RoundBf16Row(const float* x, float* y, int64_t n) {
  const hn::ScalableTag<uint32_t> du;
  const int64_t L = static_cast<int64_t>(hn::Lanes(du));
  const uint32_t* xu = reinterpret_cast<const uint32_t*>(x);
  uint32_t* yu = reinterpret_cast<uint32_t*>(y);
  int64_t j = 0;
  for (; j + L <= n; j += L) hn::StoreU(RoundBits(du, hn::LoadU(du, xu + j)), du, yu + j);
  for (; j < n; ++j) {
    uint32_t u;
    std::memcpy(&u, x + j, 4);
    u = RoundedBf16Bits(u);
    std::memcpy(y + j, &u, 4);
  }
}

void Bf16ToF32Row(const uint16_t* x, float* y, int64_t n) {
  const hn::ScalableTag<uint32_t> du;
  const hn::Rebind<uint16_t, decltype(du)> d16;
  const int64_t L = static_cast<int64_t>(hn::Lanes(du));
  uint32_t* yu = reinterpret_cast<uint32_t*>(y);
  int64_t j = 0;
  for (; j + L <= n; j += L) hn::StoreU(hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(d16, x + j))), du, yu + j);
  for (; j < n; ++j) yu[j] = static_cast<uint32_t>(x[j]) << 16;
}

}  // namespace HWY_NAMESPACE
}  // namespace ernie::kernels::vec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ernie::kernels::vec {

HWY_EXPORT(LayerNormRow);
HWY_EXPORT(SumRows);
HWY_EXPORT(SoftmaxRow);
HWY_EXPORT(QuantizeRowU8);
HWY_EXPORT(DequantRow);
HWY_EXPORT(QuantizeRowS8);
HWY_EXPORT(BiasActBlock);
HWY_EXPORT(ActivateRow);
HWY_EXPORT(ToBf16Row);
HWY_EXPORT(RoundBf16Row);
HWY_EXPORT(Bf16ToF32Row);

void layer_norm_row(float* x, const float* res, const float* gamma, const float* beta, int64_t H, float eps) {
  HWY_DYNAMIC_DISPATCH(LayerNormRow)(x, res, gamma, beta, H, eps);
}
void sum_rows(float* y, const float* a, const float* b, const float* c, const float* e, int64_t H) {
  HWY_DYNAMIC_DISPATCH(SumRows)(y, a, b, c, e, H);
}
void softmax_row(float* s, int64_t n, float scale) { HWY_DYNAMIC_DISPATCH(SoftmaxRow)(s, n, scale); }
float quantize_row_u8(const float* x, int64_t K, uint8_t* q) { return HWY_DYNAMIC_DISPATCH(QuantizeRowU8)(x, K, q); }
float quantize_row_s8(const float* x, int64_t K, int levels, int8_t* q) {
  return HWY_DYNAMIC_DISPATCH(QuantizeRowS8)(x, K, levels, q);
}
void dequant_row(const int32_t* acc, const int32_t* comp, const float* ws, float sx, const float* bias, float* y,
                 int64_t N, bool relu, bool accumulate) {
  HWY_DYNAMIC_DISPATCH(DequantRow)(acc, comp, ws, sx, bias, y, N, relu, accumulate);
}
void bias_act_block(const float* acc, int64_t lda, const float* bias, float* y, int64_t ldy, int64_t rows, int64_t n,
                    Activation act, bool accumulate) {
  HWY_DYNAMIC_DISPATCH(BiasActBlock)(acc, lda, bias, y, ldy, rows, n, act, accumulate);
}
void activate_row(float* x, int64_t n, Activation act) { HWY_DYNAMIC_DISPATCH(ActivateRow)(x, n, act); }
void to_bf16_row(const float* x, uint16_t* y, int64_t n) { HWY_DYNAMIC_DISPATCH(ToBf16Row)(x, y, n); }
void round_bf16_row(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(RoundBf16Row)(x, y, n); }
void bf16_to_f32_row(const uint16_t* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(Bf16ToF32Row)(x, y, n); }

}  // namespace ernie::kernels::vec
#endif

// Activations with transformers' definitions (activations.py ACT2FN).
#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"

namespace ernie::kernels {

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;   // sqrt(2/pi)
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

template <class F>
void apply(float* x, int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n > 1 << 16)
  for (int64_t i = 0; i < n; ++i) x[i] = f(x[i]);
}
}  // namespace

void activate(Activation act, float* x, int64_t n) {
  switch (act) {
    case Activation::Relu:
      return apply(x, n, [](float v) { return v > 0.0f ? v : 0.0f; });
    case Activation::Gelu:   // 0.5 x (1 + erf(x / sqrt 2))
      return apply(x, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.7071067811865476f)); });
    case Activation::GeluNew:   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      return apply(x, n, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
      });
    case Activation::GeluFast:  // 0.5 x (1 + tanh(x * 0.7978845608 * (1 + 0.044715 x^2)))
      return apply(x, n, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(v * 0.7978845608f * (1.0f + 0.044715f * v * v)));
      });
    case Activation::QuickGelu:
      return apply(x, n, [](float v) { return v * sigmoid(1.702f * v); });
    case Activation::Silu:
      return apply(x, n, [](float v) { return v * sigmoid(v); });
    case Activation::Tanh:
      return apply(x, n, [](float v) { return std::tanh(v); });
    case Activation::Sigmoid:
      return apply(x, n, [](float v) { return sigmoid(v); });
    case Activation::Linear:
      return;
  }
}

}  // namespace ernie::kernels

// ---------------------------------------------------------------------------------------------
// Training: dx = dy * act'(x), the derivative of exactly the formula `activate` uses above
// (x is the activation's input). dx may alias dy.
// ---------------------------------------------------------------------------------------------
namespace ernie::kernels {

namespace {
template <class F>
void apply_backward(const float* x, const float* dy, float* dx, int64_t n, F df) {
#pragma omp parallel for schedule(static) if (n > 1 << 16)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * df(x[i]);
}
// d/dx of 0.5 x (1 + tanh(c x (1 + a x^2))) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2).
inline float gelu_tanh_grad(float v, float c) {
  const float v2 = v * v;
  const float t = std::tanh(c * v * (1.0f + 0.044715f * v2));
  return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * c * (1.0f + 3.0f * 0.044715f * v2);
}
}  // namespace

void activation_backward(Activation act, const float* x, const float* dy, float* dx, int64_t n) {
  switch (act) {
    case Activation::Relu:   // 0 at x <= 0, as PyTorch's threshold_backward
      return apply_backward(x, dy, dx, n, [](float v) { return v > 0.0f ? 1.0f : 0.0f; });
    case Activation::Gelu:   // Phi(x) + x phi(x)
      return apply_backward(x, dy, dx, n, [](float v) {
        constexpr float kInvSqrt2Pi = 0.3989422804014327f;   // 1/sqrt(2 pi)
        return 0.5f * (1.0f + std::erf(v * 0.7071067811865476f)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
      });
    case Activation::GeluNew:
      return apply_backward(x, dy, dx, n, [](float v) { return gelu_tanh_grad(v, kSqrt2OverPi); });
    case Activation::GeluFast:
      return apply_backward(x, dy, dx, n, [](float v) { return gelu_tanh_grad(v, 0.7978845608f); });
    case Activation::QuickGelu:   // s + 1.702 x s (1 - s), s = sigmoid(1.702 x)
      return apply_backward(x, dy, dx, n, [](float v) {
        const float s = sigmoid(1.702f * v);
        return s + 1.702f * v * s * (1.0f - s);
      });
    case Activation::Silu:   // s + x s (1 - s)
      return apply_backward(x, dy, dx, n, [](float v) {
        const float s = sigmoid(v);
        return s + v * s * (1.0f - s);
      });
    case Activation::Tanh:
      return apply_backward(x, dy, dx, n, [](float v) {
        const float t = std::tanh(v);
        return 1.0f - t * t;
      });
    case Activation::Sigmoid:
      return apply_backward(x, dy, dx, n, [](float v) {
        const float s = sigmoid(v);
        return s * (1.0f - s);
      });
    case Activation::Linear:
      if (dx != dy) std::copy(dy, dy + n, dx);
      return;
  }
}

}  // namespace ernie::kernels

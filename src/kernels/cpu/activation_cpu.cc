// Activations with transformers' definitions (activations.py ACT2FN).
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

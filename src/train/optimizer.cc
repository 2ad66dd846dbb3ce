#include "ernie/optimizer.h"

#include <cmath>
#include <vector>

#include "ernie/error.h"

namespace ernie {

Schedule parse_schedule(const std::string& name) {
  if (name == "linear") return Schedule::Linear;
  if (name == "cosine") return Schedule::Cosine;
  if (name == "constant") return Schedule::Constant;
  throw Error("unknown learning-rate schedule '" + name + "' (expected linear, cosine or constant)");
}

double schedule_factor(Schedule s, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (s == Schedule::Constant) return 1.0;
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (s == Schedule::Linear) return std::max(0.0, 1.0 - progress);
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

double clip_grad_norm(TrainableModel& model, double max_norm) {
  Tensor& g = model.gradient_storage();
  float* p = g.data<float>();
  const int64_t n = g.numel();
  // Fixed chunks summed in order: the same norm for any thread count.
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0;
    for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) s += static_cast<double>(p[i]) * p[i];
    partial[c] = s;
  }
  double total = 0;
  for (double s : partial) total += s;
  const double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));   // torch's clip_coef
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] *= scale;
  }
  return norm;
}

AdamW::AdamW(TrainableModel& model, AdamWOptions o)
    : model_(model), o_(o),
      m_(Tensor::zeros(DType::F32, {model.parameter_storage().numel()})),
      v_(Tensor::zeros(DType::F32, {model.parameter_storage().numel()})) {
  const float* base = model.parameter_storage().data<float>();
  for (const auto& [name, t] : model.parameters())
    if (model.trainable(name)) ranges_.push_back({t.data<float>() - base, t.numel(), model.decays(name)});
}

// torch.optim.AdamW, step t: p *= 1 - lr * wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
void AdamW::step(double lr) {
  ++steps_;
  const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(steps_));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(o_.beta2, static_cast<double>(steps_)));
  const float step_size = static_cast<float>(lr / bc1), inv_bc2 = static_cast<float>(1.0 / bc2_sqrt);
  const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2), eps = static_cast<float>(o_.eps);
  float* p = model_.parameter_storage().data<float>();
  const float* g = model_.gradient_storage().data<float>();
  float* m = m_.data<float>();
  float* v = v_.data<float>();
  for (const Range& r : ranges_) {
    const float keep = r.decay ? static_cast<float>(1.0 - lr * o_.weight_decay) : 1.0f;
#pragma omp parallel for schedule(static) if (r.size > 1 << 15)
    for (int64_t i = r.begin; i < r.begin + r.size; ++i) {
      p[i] *= keep;
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_bc2 + eps);
    }
  }
}

}  // namespace ernie

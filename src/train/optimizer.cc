#include "ernie/optimizer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ernie/error.h"

namespace ernie {

Schedule parse_schedule(const std::string& name) {
  if (name == "linear") return Schedule::Linear;
  if (name == "cosine") return Schedule::Cosine;
  if (name == "constant") return Schedule::Constant;
  if (name == "polynomial") return Schedule::Polynomial;
  throw Error("unknown learning-rate schedule '" + name + "' (expected linear, cosine, constant or polynomial)");
}

double schedule_factor(Schedule s, int64_t step, int64_t warmup, int64_t total, double power, double end) {
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (s == Schedule::Constant) return 1.0;
  if (s == Schedule::Polynomial) {
    if (step > total) return end;
    const double remaining =
        1.0 - static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
    return end + (1.0 - end) * std::pow(remaining, power);
  }
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (s == Schedule::Linear) return std::max(0.0, 1.0 - progress);
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

double clip_grad_norm(TrainableModel& model, double max_norm) {
  Tensor& g = model.gradient_storage();
  return clip_grad_norm(g.data<float>(), g.numel(), max_norm, dist::single_process());
}

double clip_grad_norm(float* p, int64_t n, double max_norm, dist::Communicator& comm) {
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
  comm.allreduce_sum(&total, 1);
  const double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));   // torch's clip_coef
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] *= scale;
  }
  return norm;
}

AdamW::AdamW(TrainableModel& model, AdamWOptions o, dist::Range shard) : model_(model), o_(o), shard_(shard) {
  const int64_t total = model.parameter_storage().numel();
  if (shard_.end < 0) shard_ = {0, total};
  if (shard_.begin < 0 || shard_.begin > shard_.end || shard_.end > total) throw Error("AdamW: shard out of range");
  if (o_.lamb && (shard_.begin != 0 || shard_.end != total))
    throw Error("LAMB's trust ratio needs whole tensors: it cannot shard the optimizer");
  m_ = Tensor::zeros(DType::F32, {shard_.size()});
  v_ = Tensor::zeros(DType::F32, {shard_.size()});
  const float* base = model.parameter_storage().data<float>();
  for (const auto& [name, t] : model.parameters()) {
    const int64_t begin = std::max(t.data<float>() - base, shard_.begin);
    const int64_t end = std::min(t.data<float>() - base + t.numel(), shard_.end);
    if (model.trainable(name) && begin < end) ranges_.push_back({begin, end - begin, model.decays(name)});
  }
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
  float* m = m_.data<float>();   // m[i - shard_.begin] belongs to storage element i
  float* v = v_.data<float>();
  if (o_.lamb) return lamb_step(lr, static_cast<float>(1.0 / bc1), inv_bc2);
  for (const Range& r : ranges_) {
    const float keep = r.decay ? static_cast<float>(1.0 - lr * o_.weight_decay) : 1.0f;
#pragma omp parallel for schedule(static) if (r.size > 1 << 15)
    for (int64_t i = r.begin; i < r.begin + r.size; ++i) {
      const int64_t k = i - shard_.begin;
      p[i] *= keep;
      m[k] = b1 * m[k] + (1.0f - b1) * g[i];
      v[k] = b2 * v[k] + (1.0f - b2) * g[i] * g[i];
      p[i] -= step_size * m[k] / (std::sqrt(v[k]) * inv_bc2 + eps);
    }
  }
}

void AdamW::lamb_step(double lr, float inv_bc1, float inv_bc2) {
  const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2), eps = static_cast<float>(o_.eps);
  float* p = model_.parameter_storage().data<float>();
  const float* g = model_.gradient_storage().data<float>();
  float* m = m_.data<float>();
  float* v = v_.data<float>();
  std::vector<float> u;
  for (const Range& r : ranges_) {
    const float wd = r.decay ? static_cast<float>(o_.weight_decay) : 0.0f;
    u.resize(static_cast<size_t>(r.size));
    double pn = 0, un = 0;
    for (int64_t j = 0; j < r.size; ++j) {   // one tensor: sequential sums, the same for any thread count
      const int64_t i = r.begin + j;
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      u[j] = m[i] * inv_bc1 / (std::sqrt(v[i]) * inv_bc2 + eps) + wd * p[i];
      pn += static_cast<double>(p[i]) * p[i];
      un += static_cast<double>(u[j]) * u[j];
    }
    const double ratio = pn > 0 && un > 0 ? std::sqrt(pn) / std::sqrt(un) : 1.0;
    const auto step = static_cast<float>(lr * ratio);
    for (int64_t j = 0; j < r.size; ++j) p[r.begin + j] -= step * u[j];
  }
}

}  // namespace ernie

// Training losses over logits [B, N], as PyTorch's (and so transformers') loss modules with
// reduction "mean". Each returns the mean loss and writes dlogits = d(mean loss)/dlogits * scale.
// Serial, accumulated in double: B * N is small (the classifier's output), and the result is the
// same for any thread count.
#include <algorithm>
#include <cmath>
#include <string>

#include "ernie/error.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

// CrossEntropyLoss: loss_b = logsumexp(x_b) - x_b[label_b] (log-softmax shifted by the row max);
// mean over B. dlogits = (softmax(x_b) - onehot(label_b)) / B * scale.
float cross_entropy(const float* logits, const int32_t* labels, float* dlogits, int64_t B, int64_t N, float scale) {
  if (B <= 0) return 0.0f;
  const double g = static_cast<double>(scale) / static_cast<double>(B);
  double total = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    const int32_t label = labels[b];
    if (label < 0 || label >= N)
      throw Error("cross_entropy: label " + std::to_string(label) + " of row " + std::to_string(b) +
                  " is outside [0, " + std::to_string(N) + ")");
    const float* x = logits + b * N;
    float* d = dlogits + b * N;
    double m = x[0];
    for (int64_t n = 1; n < N; ++n) m = std::max(m, static_cast<double>(x[n]));
    double sum = 0.0;
    for (int64_t n = 0; n < N; ++n) sum += std::exp(static_cast<double>(x[n]) - m);
    const double lse = m + std::log(sum);
    total += lse - x[label];
    for (int64_t n = 0; n < N; ++n) {
      const double sm = std::exp(static_cast<double>(x[n]) - lse);
      d[n] = static_cast<float>((sm - (n == label ? 1.0 : 0.0)) * g);
    }
  }
  return static_cast<float>(total / static_cast<double>(B));
}

// BCEWithLogitsLoss: l = max(x, 0) - x t + log1p(exp(-|x|)), mean over B * N.
// dlogits = (sigmoid(x) - t) / (B N) * scale.
float bce_with_logits(const float* logits, const float* targets, float* dlogits, int64_t B, int64_t N, float scale) {
  const int64_t n = B * N;
  if (n <= 0) return 0.0f;
  const double g = static_cast<double>(scale) / static_cast<double>(n);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = logits[i], t = targets[i];
    const double e = std::exp(-std::fabs(x));   // in (0, 1]
    total += std::max(x, 0.0) - x * t + std::log1p(e);
    const double sig = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    dlogits[i] = static_cast<float>((sig - t) * g);
  }
  return static_cast<float>(total / static_cast<double>(n));
}

// MSELoss: mean over B * N of (pred - target)^2; dpred = 2 (pred - target) / (B N) * scale.
float mse(const float* pred, const float* targets, float* dpred, int64_t B, int64_t N, float scale) {
  const int64_t n = B * N;
  if (n <= 0) return 0.0f;
  const double g = 2.0 * static_cast<double>(scale) / static_cast<double>(n);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = static_cast<double>(pred[i]) - targets[i];
    total += r * r;
    dpred[i] = static_cast<float>(r * g);
  }
  return static_cast<float>(total / static_cast<double>(n));
}

}  // namespace ernie::kernels

#include "pipeline/postprocess.h"

#include <algorithm>
#include <cmath>

namespace ernie::pipeline {

std::vector<double> label_probabilities(const float* z, int64_t n, bool multi_label) {
  std::vector<double> p(static_cast<size_t>(n));
  if (n <= 0) return p;
  if (multi_label) {
    for (int64_t i = 0; i < n; ++i) p[i] = 1.0 / (1.0 + std::exp(-static_cast<double>(z[i])));
    return p;
  }
  const double mx = *std::max_element(z, z + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += p[i] = std::exp(static_cast<double>(z[i]) - mx);
  for (auto& v : p) v /= sum;
  return p;
}

bool parse_pooling(const std::string& name, Pooling* out) {
  if (name == "cls") *out = Pooling::Cls;
  else if (name == "mean") *out = Pooling::Mean;
  else return false;
  return true;
}

const char* pooling_name(Pooling p) { return p == Pooling::Cls ? "cls" : "mean"; }

std::vector<float> pool_sequence(const Outputs& out, const Batch& batch, int64_t row, int64_t H, Pooling p) {
  const float* h = out.last_hidden_state.data<float>();
  const int64_t first = batch.offsets[row], last = batch.offsets[row + 1];
  std::vector<float> v(static_cast<size_t>(H), 0.0f);
  if (p == Pooling::Cls) {
    std::copy(h + first * H, h + (first + 1) * H, v.begin());
    return v;
  }
  std::vector<double> acc(static_cast<size_t>(H), 0.0);
  for (int64_t t = first; t < last; ++t)
    for (int64_t k = 0; k < H; ++k) acc[k] += h[t * H + k];
  const double n = static_cast<double>(std::max<int64_t>(1, last - first));
  for (int64_t k = 0; k < H; ++k) v[k] = static_cast<float>(acc[k] / n);
  return v;
}

void l2_normalize(std::vector<float>& v) {
  double ss = 0;
  for (float x : v) ss += static_cast<double>(x) * x;
  if (ss <= 0) return;
  const double inv = 1.0 / std::sqrt(ss);
  for (float& x : v) x = static_cast<float>(x * inv);
}

}  // namespace ernie::pipeline

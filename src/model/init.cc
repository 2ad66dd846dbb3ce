// Fresh parameters. Hugging Face (_init_weights of BertPreTrainedModel and its ERNIE/RoBERTa
// siblings): Linear and Embedding weights ~ N(0, initializer_range), the padding_idx row of an
// Embedding zeroed, biases 0, LayerNorm weight 1 / bias 0, the MLM output bias 0.
// PaddleNLP (ErniePretrainedModel.init_weights): Linear and Embedding weights ~ N(0, range) with
// set_value over the whole table -- the pad row is drawn too, because Paddle's Embedding returns
// zeros for padding_idx at lookup time instead -- and the rest at Paddle's defaults (bias 0,
// LayerNorm 1/0).
#include "ernie/init.h"

#include <cmath>

#include "ernie/params.h"
#include "ernie/rng.h"

namespace ernie {

void fill_sinusoidal(float* table, int64_t positions, int64_t dim) {
  // Marian: angle(pos, j) = pos / 10000^(2*(j/2)/dim); the sin of even j fill the first half
  // (rounded up), the cos of odd j the second half.
  const int64_t half = (dim + 1) / 2;
  for (int64_t pos = 0; pos < positions; ++pos) {
    float* row = table + pos * dim;
    for (int64_t j = 0; j < dim; ++j) {
      const double angle = static_cast<double>(pos) / std::pow(10000.0, 2.0 * static_cast<double>(j / 2) / dim);
      if (j % 2 == 0)
        row[j / 2] = static_cast<float>(std::sin(angle));
      else
        row[half + j / 2] = static_cast<float>(std::cos(angle));
    }
  }
}

std::map<std::string, Tensor> init_parameters(const Config& cfg, uint64_t seed, InitStyle style) {
  std::map<std::string, Tensor> out;
  const float stddev = static_cast<float>(cfg.initializer_range);
  for (const ParamSpec& spec : parameter_specs(cfg)) {
    Tensor t = Tensor::empty(DType::F32, spec.shape);
    float* w = t.data<float>();
    const int64_t n = t.numel();
    switch (spec.init) {
      case InitRule::Zeros:
        std::fill(w, w + n, 0.0f);
        break;
      case InitRule::Ones:
        std::fill(w, w + n, 1.0f);
        break;
      case InitRule::Sinusoidal:
        fill_sinusoidal(w, spec.shape[0], spec.shape[1]);
        break;
      case InitRule::Normal:
      case InitRule::NormalPadZero: {
        // One stream per tensor name: element i is a pure function of (seed, name, i).
        const CounterRng rng(seed, stable_hash(spec.name.c_str()));
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) w[i] = stddev * rng.normal(static_cast<uint64_t>(i));
        if (spec.init == InitRule::NormalPadZero && style == InitStyle::HuggingFace) {
          const int64_t dim = spec.shape[1];
          std::fill(w + cfg.pad_token_id * dim, w + (cfg.pad_token_id + 1) * dim, 0.0f);
        }
        break;
      }
    }
    out.emplace(spec.name, std::move(t));
  }
  return out;
}

}  // namespace ernie

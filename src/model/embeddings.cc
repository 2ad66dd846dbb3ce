#include "kernels/kernels.h"
#include "model/layers.h"

namespace ernie::model {

// x[T, H] = LayerNorm(word[id] + position[pos] + token_type[type] (+ task_type[task]))
// Relative-position models add no absolute position row (as transformers' BertEmbeddings).
void embeddings_forward(const Config& cfg, const EmbeddingW& w, const Batch& batch, float* x) {
  const int64_t H = cfg.hidden_size, T = batch.tokens();
  const bool absolute = cfg.position_kind == PositionKind::Absolute || cfg.position_kind == PositionKind::Sinusoidal;
#pragma omp parallel for schedule(static) if (T * H > 1 << 15)
  for (int64_t t = 0; t < T; ++t) {
    float* row = x + t * H;
    const float* word = w.word + static_cast<int64_t>(batch.input_ids[t]) * H;
    const float* type = w.token_type + static_cast<int64_t>(batch.token_type_ids[t]) * H;
    for (int64_t j = 0; j < H; ++j) row[j] = word[j] + type[j];
    if (absolute) {
      const float* pos = w.position + static_cast<int64_t>(batch.position_ids[t]) * H;
      for (int64_t j = 0; j < H; ++j) row[j] += pos[j];
    }
    if (cfg.use_task_id) {
      const float* task = w.task_type + static_cast<int64_t>(batch.task_type_ids[t]) * H;
      for (int64_t j = 0; j < H; ++j) row[j] += task[j];
    }
  }
  kernels::add_layer_norm(x, nullptr, w.norm.gamma, w.norm.beta, T, H, static_cast<float>(cfg.layer_norm_eps));
}

}  // namespace ernie::model

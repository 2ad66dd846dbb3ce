#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "model/layers.h"

namespace ernie::model {

// x[T, H] = LayerNorm(word[id] + position[pos] + token_type[type] (+ task_type[task])), one fused
// pass per token. Relative-position models add no absolute position row (as transformers' BertEmbeddings).
void embeddings_forward(const Config& cfg, const EmbeddingW& w, const Batch& batch, float* x) {
  const int64_t H = cfg.hidden_size, T = batch.tokens();
  const bool absolute = cfg.position_kind == PositionKind::Absolute || cfg.position_kind == PositionKind::Sinusoidal;
  const float eps = static_cast<float>(cfg.layer_norm_eps);
#pragma omp parallel for schedule(static) if (T * H > 1 << 15)
  for (int64_t t = 0; t < T; ++t) {
    float* row = x + t * H;
    const float* word = w.word + static_cast<int64_t>(batch.input_ids[t]) * H;
    const float* type = w.token_type + static_cast<int64_t>(batch.token_type_ids[t]) * H;
    const float* pos = absolute ? w.position + static_cast<int64_t>(batch.position_ids[t]) * H : nullptr;
    const float* task = cfg.use_task_id ? w.task_type + static_cast<int64_t>(batch.task_type_ids[t]) * H : nullptr;
    kernels::vec::sum_rows(row, word, type, pos, task, H);
    kernels::vec::layer_norm_row(row, nullptr, w.norm.gamma, w.norm.beta, H, eps);
  }
}

}  // namespace ernie::model

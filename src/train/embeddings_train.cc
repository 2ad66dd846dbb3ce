// Embeddings: forward (saving LayerNorm's input) and backward (scatter into the tables).
#include <algorithm>
#include <cstring>

#include <omp.h>

#include "kernels/cpu/vec.h"
#include "train/backprop.h"

namespace ernie::train {

namespace {
bool absolute_positions(const Config& cfg) { return cfg.position_kind == PositionKind::Absolute; }
}  // namespace

void embeddings_forward(const Config& cfg, const model::EmbeddingW& w, const Batch& batch, float* x,
                        EmbeddingCache& c, const Dropout& d) {
  const int64_t H = cfg.hidden_size, T = batch.tokens();
  const bool positions = absolute_positions(cfg) || cfg.position_kind == PositionKind::Sinusoidal;
#pragma omp parallel for schedule(static) if (T * H > 1 << 15)
  for (int64_t t = 0; t < T; ++t) {
    const float* word = w.word + static_cast<int64_t>(batch.input_ids[t]) * H;
    const float* type = w.token_type + static_cast<int64_t>(batch.token_type_ids[t]) * H;
    const float* pos = positions ? w.position + static_cast<int64_t>(batch.position_ids[t]) * H : nullptr;
    const float* task = cfg.use_task_id ? w.task_type + static_cast<int64_t>(batch.task_type_ids[t]) * H : nullptr;
    kernels::vec::sum_rows(c.sum + t * H, word, type, pos, task, H);   // [T, H]
  }
  kernels::layer_norm_forward(c.sum, w.norm.gamma, w.norm.beta, x, c.mean, c.rstd, T, H,
                              static_cast<float>(cfg.layer_norm_eps));
  kernels::dropout(x, T * H, d.hidden, d.key(kEmbeddings), d.token_element(H));
}

// dsum[T, H] = LayerNorm'(dropout'(dx)); then each table row gets the sum of dsum over the tokens
// that read it. Threads own disjoint column ranges, so the sums are ordered and deterministic.
// The pad row of the word table gets no gradient (transformers' padding_idx), nor does a fixed
// sinusoidal table.
void embeddings_backward(const Config& cfg, const model::EmbeddingW& w, const model::EmbeddingW& g,
                         const Batch& batch, float* dx, float* scratch, const EmbeddingCache& c, const Dropout& d) {
  const int64_t H = cfg.hidden_size, T = batch.tokens();
  kernels::dropout(dx, T * H, d.hidden, d.key(kEmbeddings), d.token_element(H));
  float* dsum = scratch;   // [T, H]
  kernels::layer_norm_backward(c.sum, w.norm.gamma, c.mean, c.rstd, dx, dsum, grad(g.norm.gamma), grad(g.norm.beta),
                               T, H);
  const bool positions = absolute_positions(cfg);
  const int64_t pad = cfg.pad_token_id;
#pragma omp parallel if (T * H > 1 << 14)
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t c0 = H * id / nt, c1 = H * (id + 1) / nt;
    for (int64_t t = 0; t < T; ++t) {
      const float* src = dsum + t * H;
      auto add = [&](const float* table, int64_t row) {
        float* dst = grad(table) + row * H;
        for (int64_t k = c0; k < c1; ++k) dst[k] += src[k];
      };
      if (batch.input_ids[t] != pad) add(g.word, batch.input_ids[t]);
      add(g.token_type, batch.token_type_ids[t]);
      if (positions) add(g.position, batch.position_ids[t]);
      if (cfg.use_task_id) add(g.task_type, batch.task_type_ids[t]);
    }
  }
}

}  // namespace ernie::train

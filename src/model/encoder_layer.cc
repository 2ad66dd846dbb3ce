#include <cmath>

#include "kernels/kernels.h"
#include "model/layers.h"

namespace ernie::model {

namespace {
void linear(const LinearW& w, const float* x, float* y, int64_t rows) {
  kernels::linear(x, w.w, w.b, y, rows, w.in, w.out);
}
}  // namespace

// One post-LayerNorm Transformer layer (BERT/ERNIE/RoBERTa):
//   a = LayerNorm(x + Attention(x) W_o)          x, a: [T, H]
//   x = LayerNorm(a + act(a W_i) W_out)          act(a W_i): [T, I]
void encoder_layer_forward(const Config& cfg, const EncoderLayerW& w, const Batch& batch, float* x,
                           Activations& act) {
  const int64_t T = batch.tokens(), H = cfg.hidden_size;
  const float eps = static_cast<float>(cfg.layer_norm_eps);

  linear(w.query, x, act.q, T);   // [T, H]
  linear(w.key, x, act.k, T);
  linear(w.value, x, act.v, T);

  kernels::AttentionArgs args;
  args.q = act.q;
  args.k = act.k;
  args.v = act.v;
  args.ctx = act.ctx;
  args.offsets = batch.offsets.data();
  args.sequences = batch.rows;
  args.heads = cfg.num_attention_heads;
  args.head_dim = cfg.head_dim();
  args.scale = 1.0f / std::sqrt(static_cast<float>(cfg.head_dim()));
  args.kind = cfg.position_kind;
  args.distance = w.distance;
  args.max_positions = cfg.max_position_embeddings;
  args.column = batch.column.data();
  kernels::attention(args);   // ctx: [T, H]

  linear(w.attn_out, act.ctx, act.tmp, T);
  kernels::add_layer_norm(x, act.tmp, w.attn_norm.gamma, w.attn_norm.beta, T, H, eps);

  linear(w.intermediate, x, act.ffn, T);   // [T, I]
  kernels::activate(cfg.hidden_act, act.ffn, T * cfg.intermediate_size);
  linear(w.output, act.ffn, act.tmp, T);   // [T, H]
  kernels::add_layer_norm(x, act.tmp, w.out_norm.gamma, w.out_norm.beta, T, H, eps);
}

}  // namespace ernie::model

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "model/layers.h"

namespace ernie::model {

void apply_linear(const LinearW& w, const float* x, float* y, int64_t rows, Activation act, bool accumulate) {
  if (w.packed) return kernels::linear(*w.packed, x, y, rows, act, accumulate);
  const auto p = kernels::pack_linear(w.w, w.b, w.in, w.out, kernels::MatType::F32);   // no copy for F32
  kernels::linear(*p, x, y, rows, act, accumulate);
}

void prepare_weights(ModelWeights& w, kernels::MatType type, const std::map<std::string, StoredInt8>* int8) {
  auto stored = [&](const std::string& weight) -> const StoredInt8* {
    if (type != kernels::MatType::S8 || !int8) return nullptr;
    auto it = int8->find(weight);
    return it == int8->end() ? nullptr : &it->second;
  };
  for (EncoderLayerW& layer : w.layers) {
    const std::pair<LinearW*, const char*> rest[] = {{&layer.attn_out, "attention.output.dense"},
                                                     {&layer.intermediate, "intermediate.dense"},
                                                     {&layer.output, "output.dense"}};
    for (auto [lin, name] : rest) {
      if (const StoredInt8* s = stored(layer.prefix + name + ".weight"))
        lin->packed = kernels::pack_linear_s8(s->q, s->scale, lin->b, lin->in, lin->out);
      else
        lin->packed = kernels::pack_linear(lin->w, lin->b, lin->in, lin->out, type);
    }
    // Fused QKV: rows [Wq; Wk; Wv] and [bq; bk; bv].
    const LinearW* parts[] = {&layer.query, &layer.key, &layer.value};
    const char* names[] = {"attention.self.query", "attention.self.key", "attention.self.value"};
    const int64_t H = layer.query.in, N = layer.query.out;
    auto buf = std::make_shared<std::vector<float>>(3 * N * H + 3 * N);
    for (int i = 0; i < 3; ++i) {
      std::copy(parts[i]->w, parts[i]->w + N * H, buf->data() + i * N * H);
      std::copy(parts[i]->b, parts[i]->b + N, buf->data() + 3 * N * H + i * N);
    }
    layer.qkv = LinearW{buf->data(), buf->data() + 3 * N * H, H, 3 * N, nullptr};
    const StoredInt8* s[3] = {stored(layer.prefix + names[0] + ".weight"), stored(layer.prefix + names[1] + ".weight"),
                              stored(layer.prefix + names[2] + ".weight")};
    if (s[0] && s[1] && s[2]) {
      std::vector<int8_t> q(3 * N * H);
      std::vector<float> scale(3 * N);
      for (int i = 0; i < 3; ++i) {
        std::copy(s[i]->q, s[i]->q + N * H, q.data() + i * N * H);
        std::copy(s[i]->scale, s[i]->scale + N, scale.data() + i * N);
      }
      layer.qkv.packed = kernels::pack_linear_s8(q.data(), scale.data(), layer.qkv.b, H, 3 * N);
    } else {
      layer.qkv.packed = kernels::pack_linear(layer.qkv.w, layer.qkv.b, H, 3 * N, type);
    }
    layer.qkv_storage = std::move(buf);
  }
}

// One post-LayerNorm Transformer layer (BERT/ERNIE/RoBERTa):
//   a = LayerNorm(x + Attention(x) W_o)          x, a: [T, H]
//   x = LayerNorm(a + act(a W_i) W_out)          act(a W_i): [T, I]
// The residual adds run inside the output projections (y += ...), the activation inside the
// intermediate projection, so each LayerNorm is one in-place pass over x.
kernels::AttentionArgs attention_args(const Config& cfg, const Batch& batch, const float* q, const float* k,
                                      const float* v, float* ctx) {
  kernels::AttentionArgs a;
  a.q = q;
  a.k = k;
  a.v = v;
  a.ctx = ctx;
  a.offsets = batch.offsets.data();
  a.sequences = batch.rows;
  a.heads = cfg.num_attention_heads;
  a.head_dim = cfg.head_dim();
  a.scale = 1.0f / std::sqrt(static_cast<float>(cfg.head_dim()));
  a.kind = cfg.position_kind;
  a.distance = nullptr;   // the caller points it at the layer's distance table when relative
  a.max_positions = cfg.max_position_embeddings;
  a.column = batch.column.data();
  return a;
}

void encoder_layer_forward(const Config& cfg, const EncoderLayerW& w, const Batch& batch, float* x,
                           Activations& act) {
  const int64_t T = batch.tokens(), H = cfg.hidden_size;
  const float eps = static_cast<float>(cfg.layer_norm_eps);

  kernels::AttentionArgs args;
  if (w.qkv.packed) {   // [T, 3H]: q | k | v in each row (act.q spans the q, k and v buffers)
    apply_linear(w.qkv, x, act.q, T);
    args = attention_args(cfg, batch, act.q, act.q + H, act.q + 2 * H, act.ctx);
    args.ld = 3 * H;
  } else {
    apply_linear(w.query, x, act.q, T);   // [T, H]
    apply_linear(w.key, x, act.k, T);
    apply_linear(w.value, x, act.v, T);
    args = attention_args(cfg, batch, act.q, act.k, act.v, act.ctx);
  }
  args.distance = w.distance;
  kernels::attention(args);   // ctx: [T, H]

  apply_linear(w.attn_out, act.ctx, x, T, Activation::Linear, /*accumulate=*/true);   // x += ctx W_o + b
  kernels::add_layer_norm(x, nullptr, w.attn_norm.gamma, w.attn_norm.beta, T, H, eps);

  apply_linear(w.intermediate, x, act.ffn, T, cfg.hidden_act);   // [T, I] = act(x W_i + b)
  apply_linear(w.output, act.ffn, x, T, Activation::Linear, /*accumulate=*/true);   // x += ffn W_out + b
  kernels::add_layer_norm(x, nullptr, w.out_norm.gamma, w.out_norm.beta, T, H, eps);
}

}  // namespace ernie::model

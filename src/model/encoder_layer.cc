#include <algorithm>
#include <cmath>
#include <vector>

#include "ernie/error.h"
#include "kernels/kernels.h"
#include "kernels/mapped.h"
#include "model/layers.h"

namespace ernie::model {

void apply_linear(const LinearW& w, const float* x, float* y, int64_t rows, Activation act, bool accumulate) {
  if (w.packed) return kernels::linear(*w.packed, x, y, rows, act, accumulate);
  // Unpacked weights ([out, in] read in place): plain product, then activation or residual.
  if (!accumulate) {
    kernels::linear(x, w.w, w.b, y, rows, w.in, w.out);
    return kernels::activate(act, y, rows * w.out);
  }
  std::vector<float> t(rows * w.out);
  kernels::linear(x, w.w, w.b, t.data(), rows, w.in, w.out);
  for (int64_t i = 0; i < rows * w.out; ++i) y[i] += t[i];
}

bool is_packed_encoder_weight(const std::string& name) {
  const size_t at = name.find("encoder.layer.");
  if (at == std::string::npos || (at != 0 && name[at - 1] != '.')) return false;
  const size_t dot = name.find('.', at + 14);
  if (dot == std::string::npos || dot == at + 14) return false;
  for (size_t i = at + 14; i < dot; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  const std::string rest = name.substr(dot + 1);
  for (const char* linear : kEncoderLinears)
    if (rest == std::string(linear) + ".weight") return true;
  return false;
}

void prepare_layer(EncoderLayerW& layer, const PackedEncoder::Layer& src, kernels::MatType type,
                   const std::map<std::string, StoredInt8>* int8) {
  auto stored = [&](const std::string& weight) -> const StoredInt8* {
    if (type != kernels::MatType::S8 || !int8) return nullptr;
    auto it = int8->find(weight);
    return it == int8->end() ? nullptr : &it->second;
  };
  // The fp32 copy itself, or a copy in `type` made from its values (W: one buffer for all).
  kernels::MappedBuffer<float> W;
  auto in_type = [&](const std::shared_ptr<const kernels::PackedLinear>& f32) {
    if (type == kernels::MatType::F32) return f32;
    const int64_t K = kernels::packed_in(*f32), N = kernels::packed_out(*f32);
    if (W.size() < static_cast<size_t>(N * K)) W.allocate(N * K);
    kernels::unpack_linear(*f32, W.data());
    return kernels::pack_linear(W.data(), kernels::packed_bias(*f32), K, N, type);
  };
  auto bind = [](LinearW& lin, std::shared_ptr<const kernels::PackedLinear> p) {
    lin.w = nullptr;
    lin.b = kernels::packed_bias(*p);
    lin.in = kernels::packed_in(*p);
    lin.out = kernels::packed_out(*p);
    lin.packed = std::move(p);
  };
  const std::pair<LinearW*, const std::shared_ptr<const kernels::PackedLinear>*> rest[] = {
      {&layer.attn_out, &src.attn_out}, {&layer.intermediate, &src.intermediate}, {&layer.output, &src.output}};
  const char* names[] = {"attention.output.dense", "intermediate.dense", "output.dense"};
  for (int r = 0; r < 3; ++r) {
    const auto& f32 = *rest[r].second;
    if (const StoredInt8* s = stored(layer.prefix + names[r] + ".weight"))
      bind(*rest[r].first, kernels::pack_linear_s8(s->q, s->scale, kernels::packed_bias(*f32),
                                                    kernels::packed_in(*f32), kernels::packed_out(*f32)));
    else
      bind(*rest[r].first, in_type(f32));
  }
  // Fused QKV: stored int8 rows [Wq; Wk; Wv] when all three are stored.
  const auto& qkv = kEncoderLinears;   // Q, K, V first
  const StoredInt8* s[3] = {stored(layer.prefix + qkv[0] + ".weight"), stored(layer.prefix + qkv[1] + ".weight"),
                            stored(layer.prefix + qkv[2] + ".weight")};
  if (s[0] && s[1] && s[2]) {
    const int64_t H = kernels::packed_in(*src.qkv), N = kernels::packed_out(*src.qkv) / 3;
    kernels::MappedBuffer<int8_t> q(3 * N * H);
    std::vector<float> scale(3 * N);
    for (int p = 0; p < 3; ++p) {
      std::copy(s[p]->q, s[p]->q + N * H, q.data() + p * N * H);
      std::copy(s[p]->scale, s[p]->scale + N, scale.data() + p * N);
    }
    bind(layer.qkv, kernels::pack_linear_s8(q.data(), scale.data(), kernels::packed_bias(*src.qkv), H, 3 * N));
  } else {
    bind(layer.qkv, in_type(src.qkv));
  }
}

void prepare_weights(ModelWeights& w, const PackedEncoder& packed, kernels::MatType type,
                     const std::map<std::string, StoredInt8>* int8) {
  if (packed.layers.size() != w.layers.size()) throw Error("internal: packed encoder and model disagree");
  for (size_t i = 0; i < w.layers.size(); ++i) prepare_layer(w.layers[i], packed.layers[i], type, int8);
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

  if (w.intermediate.packed && w.output.packed) {   // x += act(x W_i + b_i) W_out + b_out
    kernels::feed_forward(*w.intermediate.packed, *w.output.packed, x, act.ffn, T, cfg.hidden_act);
  } else {
    apply_linear(w.intermediate, x, act.ffn, T, cfg.hidden_act);   // [T, I] = act(x W_i + b)
    apply_linear(w.output, act.ffn, x, T, Activation::Linear, /*accumulate=*/true);   // x += ffn W_out + b
  }
  kernels::add_layer_norm(x, nullptr, w.out_norm.gamma, w.out_norm.beta, T, H, eps);
}

}  // namespace ernie::model

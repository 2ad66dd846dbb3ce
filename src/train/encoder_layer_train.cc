// One post-LayerNorm Transformer layer for training: forward saving its activations, and backward.
//   q, k, v = x W_q, x W_k, x W_v                      [T, H] each
//   ctx     = dropout_attn(softmax(q kᵀ / √d)) v        [T, H] per (sequence, head)
//   h1      = x + dropout(ctx W_o + b_o);   a = LN1(h1)
//   f       = act(a W_i + b_i)                          [T, I]
//   h2      = a + dropout(f W_out + b_out); out = LN2(h2)
#include <cmath>
#include <cstring>

#include "train/backprop.h"

namespace ernie::train {

namespace {

void linear(const model::LinearW& w, const float* x, float* y, int64_t rows) {
  kernels::linear(x, w.w, w.b, y, rows, w.in, w.out);
}

void linear_backward(const model::LinearW& w, const model::LinearW& g, const float* x, const float* dy, float* dx,
                     int64_t rows, bool accumulate_dx = false) {
  kernels::linear_backward(x, w.w, dy, dx, grad(g.w), grad(g.b), rows, w.in, w.out, accumulate_dx);
}

uint64_t site(int64_t layer, uint64_t which) { return kFirstLayer + 3 * static_cast<uint64_t>(layer) + which; }

}  // namespace

void encoder_layer_forward(const Config& cfg, const model::EncoderLayerW& w, const Batch& batch, const float* x,
                           float* out, LayerCache& c, const Dropout& d, int64_t layer) {
  const int64_t T = batch.tokens(), H = cfg.hidden_size, I = cfg.intermediate_size;
  const float eps = static_cast<float>(cfg.layer_norm_eps);

  linear(w.query, x, c.q, T);
  linear(w.key, x, c.k, T);
  linear(w.value, x, c.v, T);
  auto args = model::attention_args(cfg, batch, c.q, c.k, c.v, c.ctx);
  args.first_sequence = d.first_row;
  kernels::attention_forward_train(args, d.attention, d.key(site(layer, 0)));

  linear(w.attn_out, c.ctx, c.h1, T);   // h1 = x + dropout(ctx W_o + b_o)
  kernels::dropout(c.h1, T * H, d.hidden, d.key(site(layer, 1)), d.token_element(H));
  for (int64_t i = 0; i < T * H; ++i) c.h1[i] += x[i];
  kernels::layer_norm_forward(c.h1, w.attn_norm.gamma, w.attn_norm.beta, c.a, c.mean1, c.rstd1, T, H, eps);

  linear(w.intermediate, c.a, c.f_pre, T);   // [T, I]
  std::memcpy(c.f, c.f_pre, sizeof(float) * T * I);
  kernels::activate(cfg.hidden_act, c.f, T * I);

  linear(w.output, c.f, c.h2, T);   // h2 = a + dropout(f W_out + b_out)
  kernels::dropout(c.h2, T * H, d.hidden, d.key(site(layer, 2)), d.token_element(H));
  for (int64_t i = 0; i < T * H; ++i) c.h2[i] += c.a[i];
  kernels::layer_norm_forward(c.h2, w.out_norm.gamma, w.out_norm.beta, out, c.mean2, c.rstd2, T, H, eps);
}

void encoder_layer_backward(const Config& cfg, const model::EncoderLayerW& w, const model::EncoderLayerW& g,
                            const Batch& batch, const float* x, const LayerCache& c, float* dout, float* dx,
                            LayerScratch& s, const Dropout& d, int64_t layer) {
  const int64_t T = batch.tokens(), H = cfg.hidden_size, I = cfg.intermediate_size;

  // out = LN2(h2): dh = dLN2; the residual passes dh to a, the branch gets dropout'(dh).
  kernels::layer_norm_backward(c.h2, w.out_norm.gamma, c.mean2, c.rstd2, dout, s.da, grad(g.out_norm.gamma),
                               grad(g.out_norm.beta), T, H);
  std::memcpy(s.dh, s.da, sizeof(float) * T * H);
  kernels::dropout(s.dh, T * H, d.hidden, d.key(site(layer, 2)), d.token_element(H));
  linear_backward(w.output, g.output, c.f, s.dh, s.df, T);   // df [T, I]
  kernels::activation_backward(cfg.hidden_act, c.f_pre, s.df, s.df, T * I);
  linear_backward(w.intermediate, g.intermediate, c.a, s.df, s.da, T, /*accumulate_dx=*/true);

  // a = LN1(h1): the residual passes dh1 to x, the branch gets dropout'(dh1).
  kernels::layer_norm_backward(c.h1, w.attn_norm.gamma, c.mean1, c.rstd1, s.da, dx, grad(g.attn_norm.gamma),
                               grad(g.attn_norm.beta), T, H);
  std::memcpy(s.dh, dx, sizeof(float) * T * H);
  kernels::dropout(s.dh, T * H, d.hidden, d.key(site(layer, 1)), d.token_element(H));
  linear_backward(w.attn_out, g.attn_out, c.ctx, s.dh, s.dctx, T);

  auto args = model::attention_args(cfg, batch, c.q, c.k, c.v, nullptr);
  args.first_sequence = d.first_row;
  kernels::attention_backward(args, d.attention, d.key(site(layer, 0)), s.dctx, s.dq, s.dk, s.dv);
  linear_backward(w.query, g.query, x, s.dq, dx, T, true);
  linear_backward(w.key, g.key, x, s.dk, dx, T, true);
  linear_backward(w.value, g.value, x, s.dv, dx, T, true);
}

}  // namespace ernie::train

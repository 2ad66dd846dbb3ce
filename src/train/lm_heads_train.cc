// Pre-training heads for training, as transformers builds them, over the masked rows only:
//   MLM:  h = LayerNorm(act(x[masked] W_t + b_t)); logits = h Eᵀ + bias   (E: the word embeddings, tied)
//   NSP/SOP (ForPreTraining): logits = tanh(x[first] W_p + b_p) W_s + b_s
// Loss: cross-entropy over the masked tokens (labels -100 elsewhere), plus the sentence
// cross-entropy for ForPreTraining, as BertForPreTraining's total_loss. The decoder reads only the
// K masked rows, so its cost is K x V, not T x V.
#include <cstring>
#include <string>

#include "ernie/error.h"
#include "train/backprop.h"

namespace ernie::train {

namespace {

// transformers: BERT/ERNIE's transform uses hidden_act; RoBERTa's lm_head always the erf GELU.
Activation transform_activation(const Config& cfg) {
  return cfg.model_type == ModelType::Roberta ? Activation::Gelu : cfg.hidden_act;
}

}  // namespace

bool is_lm_head(const Config& cfg) { return cfg.head() == Head::MaskedLM || cfg.head() == Head::PreTraining; }

double lm_heads_forward(const Config& cfg, const model::HeadW& w, const Batch& batch, const float* x, const Targets& t,
                        LmCache& c, float loss_scale, float sentence_scale) {
  const int64_t T = batch.tokens(), B = batch.rows, H = cfg.hidden_size, V = cfg.vocab_size;
  const bool nsp = cfg.head() == Head::PreTraining;
  if (static_cast<int64_t>(t.labels.size()) != T)
    throw Error("masked-LM targets do not match the batch: expected " + std::to_string(T) + " token labels");
  if (nsp && static_cast<int64_t>(t.sentence_labels.size()) != B)
    throw Error("pre-training targets need " + std::to_string(B) + " sentence labels (next sentence / order)");
  c.rows.clear();
  c.labels.clear();
  for (int64_t i = 0; i < T; ++i) {
    const int32_t l = t.labels[i];
    if (l == -100) continue;
    if (l < 0 || l >= V) throw Error("masked-LM label " + std::to_string(l) + " is outside the vocabulary");
    c.rows.push_back(i);
    c.labels.push_back(l);
  }
  const int64_t K = static_cast<int64_t>(c.rows.size());
  c.x.resize(K * H), c.pre.resize(K * H), c.act.resize(K * H), c.h.resize(K * H);
  c.mean.resize(K), c.rstd.resize(K), c.logits.resize(K * V), c.dlogits.resize(K * V);
  double loss = 0;
  if (K > 0) {
    for (int64_t r = 0; r < K; ++r) std::memcpy(&c.x[r * H], x + c.rows[r] * H, sizeof(float) * H);
    kernels::linear(c.x.data(), w.lm_transform.w, w.lm_transform.b, c.pre.data(), K, H, H);
    std::memcpy(c.act.data(), c.pre.data(), sizeof(float) * K * H);
    kernels::activate(transform_activation(cfg), c.act.data(), K * H);
    kernels::layer_norm_forward(c.act.data(), w.lm_norm.gamma, w.lm_norm.beta, c.h.data(), c.mean.data(), c.rstd.data(),
                                K, H, static_cast<float>(cfg.layer_norm_eps));
    kernels::linear(c.h.data(), w.lm_decoder, w.lm_bias, c.logits.data(), K, H, V);
    loss = kernels::cross_entropy(c.logits.data(), c.labels.data(), c.dlogits.data(), K, V, loss_scale);
  }
  if (nsp) {
    c.first.resize(B * H), c.pooled_pre.resize(B * H), c.pooled.resize(B * H), c.nsp_logits.resize(B * 2),
        c.nsp_dlogits.resize(B * 2);
    for (int64_t b = 0; b < B; ++b) std::memcpy(&c.first[b * H], x + batch.offsets[b] * H, sizeof(float) * H);
    kernels::linear(c.first.data(), w.pooler.w, w.pooler.b, c.pooled_pre.data(), B, H, H);
    std::memcpy(c.pooled.data(), c.pooled_pre.data(), sizeof(float) * B * H);
    kernels::activate(cfg.pooler_activation(), c.pooled.data(), B * H);
    kernels::linear(c.pooled.data(), w.seq_relationship.w, w.seq_relationship.b, c.nsp_logits.data(), B, H, 2);
    for (int32_t l : t.sentence_labels)
      if (l < 0 || l > 1) throw Error("sentence label " + std::to_string(l) + " is not 0 or 1");
    c.sentence_loss =
        kernels::cross_entropy(c.nsp_logits.data(), t.sentence_labels.data(), c.nsp_dlogits.data(), B, 2, sentence_scale);
    loss += c.sentence_loss;
  }
  return loss;
}

void lm_heads_backward(const Config& cfg, const model::HeadW& w, const model::HeadW& g, const Batch& batch,
                       LmCache& c, float* dx) {
  const int64_t T = batch.tokens(), B = batch.rows, H = cfg.hidden_size, V = cfg.vocab_size;
  const int64_t K = static_cast<int64_t>(c.rows.size());
  std::memset(dx, 0, sizeof(float) * T * H);
  if (K > 0) {
    std::vector<float>& dh = c.pre_grad;   // [K, H], reused for each step back
    std::vector<float>& dx_rows = c.x_grad;
    dh.resize(K * H), dx_rows.resize(K * H);
    // Tied decoder: its gradient lands in the word embeddings' gradient (all V rows).
    kernels::linear_backward(c.h.data(), w.lm_decoder, c.dlogits.data(), dh.data(), grad(g.lm_decoder), grad(g.lm_bias),
                             K, H, V);
    kernels::layer_norm_backward(c.act.data(), w.lm_norm.gamma, c.mean.data(), c.rstd.data(), dh.data(), dx_rows.data(),
                                 grad(g.lm_norm.gamma), grad(g.lm_norm.beta), K, H);
    kernels::activation_backward(transform_activation(cfg), c.pre.data(), dx_rows.data(), dx_rows.data(), K * H);
    kernels::linear_backward(c.x.data(), w.lm_transform.w, dx_rows.data(), dh.data(), grad(g.lm_transform.w),
                             grad(g.lm_transform.b), K, H, H);
    for (int64_t r = 0; r < K; ++r) {
      float* d = dx + c.rows[r] * H;
      for (int64_t k = 0; k < H; ++k) d[k] += dh[r * H + k];
    }
  }
  if (cfg.head() == Head::PreTraining) {
    std::vector<float> dpooled(B * H), dfirst(B * H);
    kernels::linear_backward(c.pooled.data(), w.seq_relationship.w, c.nsp_dlogits.data(), dpooled.data(),
                             grad(g.seq_relationship.w), grad(g.seq_relationship.b), B, H, 2);
    kernels::activation_backward(cfg.pooler_activation(), c.pooled_pre.data(), dpooled.data(), dpooled.data(), B * H);
    kernels::linear_backward(c.first.data(), w.pooler.w, dpooled.data(), dfirst.data(), grad(g.pooler.w),
                             grad(g.pooler.b), B, H, H);
    for (int64_t b = 0; b < B; ++b) {
      float* d = dx + batch.offsets[b] * H;
      for (int64_t k = 0; k < H; ++k) d[k] += dfirst[b * H + k];
    }
  }
}

}  // namespace ernie::train

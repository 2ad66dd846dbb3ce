// Pooler and task heads, laid out as transformers builds them for each model type.
#include <cstring>

#include "ernie/params.h"
#include "kernels/kernels.h"
#include "model/layers.h"

namespace ernie::model {

namespace {

Tensor linear(const LinearW& w, const float* x, int64_t rows) {
  Tensor y = Tensor::empty(DType::F32, {rows, w.out});
  kernels::linear(x, w.w, w.b, y.data<float>(), rows, w.in, w.out);
  return y;
}

// [B, H]: the hidden state of each sequence's first token ([CLS] / <s>).
Tensor first_tokens(const float* x, const Batch& batch, int64_t H) {
  Tensor out = Tensor::empty(DType::F32, {batch.rows, H});
  for (int64_t b = 0; b < batch.rows; ++b)
    std::memcpy(out.data<float>() + b * H, x + batch.offsets[b] * H, H * sizeof(float));
  return out;
}

// Masked-LM prediction: LayerNorm(act(x W_t)) · E^T + bias  ->  [T, V]
// BERT/ERNIE use hidden_act in the transform; RoBERTa's lm_head always uses erf GELU.
Tensor lm_logits(const Config& cfg, const HeadW& w, const float* x, int64_t T) {
  Tensor t = linear(w.lm_transform, x, T);
  const Activation act = cfg.model_type == ModelType::Roberta ? Activation::Gelu : cfg.hidden_act;
  kernels::activate(act, t.data<float>(), t.numel());
  kernels::add_layer_norm(t.data<float>(), nullptr, w.lm_norm.gamma, w.lm_norm.beta, T, cfg.hidden_size,
                          static_cast<float>(cfg.layer_norm_eps));
  Tensor logits = Tensor::empty(DType::F32, {T, cfg.vocab_size});
  kernels::linear(t.data<float>(), w.lm_decoder, w.lm_bias, logits.data<float>(), T, cfg.hidden_size,
                  cfg.vocab_size);
  return logits;
}

}  // namespace

void heads_forward(const Config& cfg, const HeadW& w, const Batch& batch, const float* x, Outputs& out) {
  const int64_t B = batch.rows, T = batch.tokens(), H = cfg.hidden_size;
  const Tensor first = first_tokens(x, batch, H);   // [B, H]
  if (has_pooler(cfg)) {
    out.pooler_output = linear(w.pooler, first.data<float>(), B);   // [B, H]
    kernels::activate(cfg.pooler_activation(), out.pooler_output.data<float>(), out.pooler_output.numel());
  }
  const float* pooled = out.pooler_output.defined() ? out.pooler_output.data<float>() : nullptr;

  switch (cfg.head()) {
    case Head::Base:
      break;
    case Head::SequenceClassification:
      if (cfg.model_type == ModelType::Roberta) {   // dense + tanh + out_proj on token 0
        Tensor h = linear(w.cls_dense, first.data<float>(), B);
        kernels::activate(Activation::Tanh, h.data<float>(), h.numel());
        out.logits = linear(w.classifier, h.data<float>(), B);   // [B, N]
      } else {
        out.logits = linear(w.classifier, pooled, B);             // [B, N]
      }
      break;
    case Head::TokenClassification:
      out.logits = linear(w.classifier, x, T);   // [T, N]
      out.logits_per_token = true;
      break;
    case Head::QuestionAnswering: {
      const Tensor both = linear(w.qa, x, T);   // [T, 2]
      out.start_logits = Tensor::empty(DType::F32, {T});
      out.end_logits = Tensor::empty(DType::F32, {T});
      for (int64_t t = 0; t < T; ++t) {
        out.start_logits.data<float>()[t] = both.data<float>()[2 * t];
        out.end_logits.data<float>()[t] = both.data<float>()[2 * t + 1];
      }
      break;
    }
    case Head::MaskedLM:
      out.logits = lm_logits(cfg, w, x, T);   // [T, V]
      out.logits_per_token = true;
      break;
    case Head::MultipleChoice:
      out.logits = linear(w.classifier, pooled, B);   // [B, 1]; callers reshape to [B / C, C]
      break;
    case Head::PreTraining:
      out.logits = lm_logits(cfg, w, x, T);
      out.logits_per_token = true;
      out.seq_relationship_logits = linear(w.seq_relationship, pooled, B);   // [B, 2]
      break;
  }
}

}  // namespace ernie::model

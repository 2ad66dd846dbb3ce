// Classification heads for training, as transformers builds them, with their losses:
//   BERT/ERNIE sequence:  logits = dropout(pool_act(x[first] W_p + b_p)) W_c + b_c
//   RoBERTa sequence:     logits = dropout(tanh(dropout(x[first]) W_d + b_d)) W_o + b_o
//   token:                logits = dropout(x) W_c + b_c
// Loss by problem_type: cross-entropy (single label), BCE with logits (multi-label), MSE (regression).
#include <cstring>
#include <string>
#include <vector>

#include "ernie/error.h"
#include "ernie/params.h"
#include "train/backprop.h"

namespace ernie::train {

namespace {

bool roberta(const Config& cfg) { return cfg.model_type == ModelType::Roberta; }

// The two dense layers of a sequence head: (pooler or RoBERTa's dense, classifier).
std::pair<const model::LinearW*, const model::LinearW*> sequence_layers(const Config& cfg, const model::HeadW& w) {
  return {roberta(cfg) ? &w.cls_dense : &w.pooler, &w.classifier};
}
Activation sequence_activation(const Config& cfg) {
  return roberta(cfg) ? Activation::Tanh : cfg.pooler_activation();
}

enum class Loss { CrossEntropy, Bce, Mse };
Loss loss_of(const Config& cfg) {
  if (cfg.problem_type == "multi_label_classification") return Loss::Bce;
  if (cfg.problem_type == "regression" || (cfg.problem_type.empty() && cfg.num_labels() == 1)) return Loss::Mse;
  return Loss::CrossEntropy;
}

void linear(const model::LinearW& w, const float* x, float* y, int64_t rows) {
  kernels::linear(x, w.w, w.b, y, rows, w.in, w.out);
}

// Token classification: mean cross-entropy over the tokens whose label is not -100.
double token_loss(const float* logits, const std::vector<int32_t>& labels, float* dlogits, int64_t T, int64_t N,
                  float scale) {
  std::vector<int32_t> kept_labels;
  std::vector<int64_t> rows;
  for (int64_t t = 0; t < T; ++t)
    if (labels[t] != -100) {
      rows.push_back(t);
      kept_labels.push_back(labels[t]);
    }
  std::memset(dlogits, 0, sizeof(float) * T * N);
  if (rows.empty()) return 0.0;
  const int64_t K = static_cast<int64_t>(rows.size());
  std::vector<float> z(K * N), dz(K * N);
  for (int64_t r = 0; r < K; ++r) std::memcpy(&z[r * N], logits + rows[r] * N, sizeof(float) * N);
  const double loss = kernels::cross_entropy(z.data(), kept_labels.data(), dz.data(), K, N, scale);
  for (int64_t r = 0; r < K; ++r) std::memcpy(dlogits + rows[r] * N, &dz[r * N], sizeof(float) * N);
  return loss;
}

void check_targets(const Config& cfg, const Targets& t, int64_t rows) {
  const int64_t N = cfg.num_labels();
  const bool values = cfg.head() == Head::SequenceClassification && loss_of(cfg) != Loss::CrossEntropy;
  if (values ? static_cast<int64_t>(t.values.size()) != rows * N : static_cast<int64_t>(t.labels.size()) != rows)
    throw Error("training targets do not match the batch: expected " + std::to_string(values ? rows * N : rows) +
                (values ? " target values" : " labels"));
  for (int32_t l : t.labels)
    if (l != -100 && (l < 0 || l >= N))
      throw Error("label " + std::to_string(l) + " is outside [0, " + std::to_string(N) + ")");
}

}  // namespace

int64_t logit_rows(const Config& cfg, const Batch& batch) {
  return cfg.head() == Head::TokenClassification ? batch.tokens() : batch.rows;
}

double heads_forward(const Config& cfg, const model::HeadW& w, const Batch& batch, const float* x,
                     const Targets& t, HeadCache& c, const Dropout& d, float loss_scale) {
  const int64_t B = batch.rows, T = batch.tokens(), H = cfg.hidden_size, N = cfg.num_labels();
  const int64_t rows = logit_rows(cfg, batch);
  const bool has_targets = !t.labels.empty() || !t.values.empty();   // none: logits only (prediction)
  if (has_targets) check_targets(cfg, t, rows);
  if (cfg.head() == Head::TokenClassification) {
    std::memcpy(c.tokens, x, sizeof(float) * T * H);
    kernels::dropout(c.tokens, T * H, d.classifier, d.key(kHead), d.token_element(H));
    linear(w.classifier, c.tokens, c.logits, T);   // [T, N]
    if (!has_targets) return 0.0;
    return token_loss(c.logits, t.labels, c.dlogits, T, N, loss_scale);
  }
  if (cfg.head() != Head::SequenceClassification)
    throw Error("training supports sequence and token classification heads, not " + cfg.class_name());
  const auto [dense, classifier] = sequence_layers(cfg, w);
  for (int64_t b = 0; b < B; ++b) std::memcpy(c.first + b * H, x + batch.offsets[b] * H, sizeof(float) * H);
  if (roberta(cfg)) kernels::dropout(c.first, B * H, d.classifier, d.key(kHeadInput), d.row_element(H));
  linear(*dense, c.first, c.pre, B);   // [B, H]
  std::memcpy(c.pooled, c.pre, sizeof(float) * B * H);
  kernels::activate(sequence_activation(cfg), c.pooled, B * H);
  kernels::dropout(c.pooled, B * H, d.classifier, d.key(kHead), d.row_element(H));
  linear(*classifier, c.pooled, c.logits, B);   // [B, N]
  if (!has_targets) return 0.0;
  switch (loss_of(cfg)) {
    case Loss::CrossEntropy:
      return kernels::cross_entropy(c.logits, t.labels.data(), c.dlogits, B, N, loss_scale);
    case Loss::Bce:
      return kernels::bce_with_logits(c.logits, t.values.data(), c.dlogits, B, N, loss_scale);
    case Loss::Mse:
      return kernels::mse(c.logits, t.values.data(), c.dlogits, B, N, loss_scale);
  }
  return 0.0;
}

void heads_backward(const Config& cfg, const model::HeadW& w, const model::HeadW& g, const Batch& batch,
                    const HeadCache& c, float* dx, float* scratch, const Dropout& d) {
  const int64_t B = batch.rows, T = batch.tokens(), H = cfg.hidden_size;
  if (cfg.head() == Head::TokenClassification) {
    kernels::linear_backward(c.tokens, w.classifier.w, c.dlogits, dx, grad(g.classifier.w), grad(g.classifier.b), T,
                             H, w.classifier.out);
    kernels::dropout(dx, T * H, d.classifier, d.key(kHead), d.token_element(H));
    return;
  }
  const auto [dense, classifier] = sequence_layers(cfg, w);
  const auto [gdense, gclassifier] = sequence_layers(cfg, g);
  float* dpooled = scratch;        // [B, H]
  float* dfirst = scratch + B * H; // [B, H]
  kernels::linear_backward(c.pooled, classifier->w, c.dlogits, dpooled, grad(gclassifier->w), grad(gclassifier->b), B,
                           H, classifier->out);
  kernels::dropout(dpooled, B * H, d.classifier, d.key(kHead), d.row_element(H));
  kernels::activation_backward(sequence_activation(cfg), c.pre, dpooled, dpooled, B * H);
  kernels::linear_backward(c.first, dense->w, dpooled, dfirst, grad(gdense->w), grad(gdense->b), B, H, H);
  if (roberta(cfg)) kernels::dropout(dfirst, B * H, d.classifier, d.key(kHeadInput), d.row_element(H));
  std::memset(dx, 0, sizeof(float) * T * H);
  for (int64_t b = 0; b < B; ++b) std::memcpy(dx + batch.offsets[b] * H, dfirst + b * H, sizeof(float) * H);
}

}  // namespace ernie::train

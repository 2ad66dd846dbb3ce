// TrainableModel: the parameter and gradient buffers, and the engine that runs a training step
// over them (one arena for activations, one for activation gradients).
#include "ernie/trainable.h"

#include <algorithm>
#include <cstring>

#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/params.h"
#include "train/backprop.h"

namespace ernie {
namespace train {

// Carves the arenas for a batch of up to `tokens` tokens and `rows` sequences.
struct Engine {
  const Config& cfg;
  model::ModelWeights w, g;   // views of the parameters and of their gradients

  Tensor acts, dacts;
  int64_t cap_tokens = -1, cap_rows = -1, peak_bytes = 0;
  bool cap_recompute = false;

  std::vector<float*> xs;          // [L+1] of [T, H]: the embeddings, then each layer's output
  EmbeddingCache emb{};
  std::vector<LayerCache> caches;  // one per layer, or one reused (recompute)
  float* recompute_out = nullptr;  // [T, H] the recomputed layer's output (discarded)
  HeadCache head{};
  LmCache lm;                      // pre-training heads
  float *dx_a = nullptr, *dx_b = nullptr, *head_scratch = nullptr;   // [T, H], [T, H], [2B, H]
  LayerScratch scratch{};

  Engine(const Config& c, const std::map<std::string, Tensor>& params, const std::map<std::string, Tensor>& grads)
      : cfg(c), w(model::bind_weights(c, params)), g(model::bind_weights(c, grads)) {}

  void reserve(int64_t T, int64_t B, bool recompute) {
    if (T <= cap_tokens && B <= cap_rows && recompute == cap_recompute) return;
    T = std::max(T, cap_tokens);
    B = std::max(B, cap_rows);
    const int64_t H = cfg.hidden_size, I = cfg.intermediate_size, L = cfg.num_hidden_layers;
    const int64_t N = std::max<int64_t>(cfg.num_labels(), 1);
    const int64_t rows = cfg.head() == Head::TokenClassification ? T : B;
    const int64_t per_layer = 7 * T * H + 2 * T * I + 4 * T;
    const int64_t n_caches = recompute ? 1 : L;
    const int64_t act_floats = (L + 1) * T * H + (T * H + 2 * T) + n_caches * per_layer + (recompute ? T * H : 0) +
                               3 * B * H + (cfg.head() == Head::TokenClassification ? T * H : 0) + 2 * rows * N;
    const int64_t grad_floats = 2 * T * H + 2 * B * H + 6 * T * H + T * I;
    acts = Tensor::empty(DType::F32, {act_floats});
    dacts = Tensor::empty(DType::F32, {grad_floats});
    peak_bytes = std::max<int64_t>(peak_bytes, (act_floats + grad_floats) * 4);

    float* p = acts.data<float>();
    auto take = [&p](int64_t n) {
      float* r = p;
      p += n;
      return r;
    };
    xs.assign(L + 1, nullptr);
    for (auto& x : xs) x = take(T * H);
    emb = {take(T * H), take(T), take(T)};
    caches.assign(n_caches, {});
    for (auto& c : caches) {
      c.q = take(T * H), c.k = take(T * H), c.v = take(T * H), c.ctx = take(T * H), c.h1 = take(T * H);
      c.a = take(T * H), c.f_pre = take(T * I), c.f = take(T * I), c.h2 = take(T * H);
      c.mean1 = take(T), c.rstd1 = take(T), c.mean2 = take(T), c.rstd2 = take(T);
    }
    recompute_out = recompute ? take(T * H) : nullptr;
    head.first = take(B * H), head.pre = take(B * H), head.pooled = take(B * H);
    head.tokens = cfg.head() == Head::TokenClassification ? take(T * H) : nullptr;
    head.logits = take(rows * N), head.dlogits = take(rows * N);

    float* q = dacts.data<float>();
    auto dtake = [&q](int64_t n) {
      float* r = q;
      q += n;
      return r;
    };
    dx_a = dtake(T * H), dx_b = dtake(T * H), head_scratch = dtake(2 * B * H);
    scratch = {dtake(T * H), dtake(T * H), dtake(T * H), dtake(T * H), dtake(T * H), dtake(T * H), dtake(T * I)};
    cap_tokens = T, cap_rows = B, cap_recompute = recompute;
  }

  LayerCache& cache(int64_t layer) { return caches.size() == 1 ? caches[0] : caches[layer]; }

  double forward(const Batch& batch, const Targets& t, const Dropout& d, float scale, float sentence_scale) {
    embeddings_forward(cfg, w.embeddings, batch, xs[0], emb, d);
    for (int64_t l = 0; l < cfg.num_hidden_layers; ++l)
      encoder_layer_forward(cfg, w.layers[l], batch, xs[l], xs[l + 1], cache(l), d, l);
    if (is_lm_head(cfg)) return lm_heads_forward(cfg, w.head, batch, xs.back(), t, lm, scale, sentence_scale);
    return heads_forward(cfg, w.head, batch, xs.back(), t, head, d, scale);
  }

  // `ready` hears of each gradient group as it is finished (TrainableModel::gradient_groups).
  void backward(const Batch& batch, const Dropout& d, const std::function<void(size_t)>& ready) {
    const int64_t L = cfg.num_hidden_layers;
    if (is_lm_head(cfg))
      lm_heads_backward(cfg, w.head, g.head, batch, lm, dx_a);
    else
      heads_backward(cfg, w.head, g.head, batch, head, dx_a, head_scratch, d);
    if (ready) ready(0);
    for (int64_t l = L - 1; l >= 0; --l) {
      if (recompute_out) encoder_layer_forward(cfg, w.layers[l], batch, xs[l], recompute_out, cache(l), d, l);
      encoder_layer_backward(cfg, w.layers[l], g.layers[l], batch, xs[l], cache(l), dx_a, dx_b, scratch, d, l);
      std::swap(dx_a, dx_b);
      if (ready) ready(static_cast<size_t>(L - l));
    }
    embeddings_backward(cfg, w.embeddings, g.embeddings, batch, dx_a, scratch.da, emb, d);
    if (ready) ready(static_cast<size_t>(L + 1));
  }
};

}  // namespace train

namespace {
void check_trainable(const Config& cfg) {
  if (cfg.head() != Head::SequenceClassification && cfg.head() != Head::TokenClassification && !train::is_lm_head(cfg))
    throw Error("training supports sequence and token classification, masked-LM and pre-training models, not " +
                cfg.class_name());
  if (cfg.position_kind == PositionKind::RelativeKey || cfg.position_kind == PositionKind::RelativeKeyQuery)
    throw Error("training supports absolute and sinusoidal position embeddings, not relative ones");
  if (cfg.head() == Head::SequenceClassification && cfg.model_type != ModelType::Roberta && !has_pooler(cfg))
    throw Error("a sequence classifier needs a pooler");
}

// The gradient group of a parameter, in the order backward finishes them: 0 the head (pooler and
// classifier), 1 + (L - 1 - l) encoder layer l, L + 1 the embeddings.
size_t gradient_group(const Config& cfg, const std::string& name) {
  const int64_t L = cfg.num_hidden_layers;
  if (const size_t at = name.find("encoder.layer."); at != std::string::npos)
    return static_cast<size_t>(L - std::stoll(name.substr(at + 14)));
  if (name.find(".embeddings.") != std::string::npos || name.starts_with("embeddings.")) return static_cast<size_t>(L + 1);
  return 0;
}
}  // namespace

TrainableModel::TrainableModel(Config cfg, const std::map<std::string, Tensor>& params) {
  check_trainable(cfg);
  // Model::from_tensors validates names, shapes and values; its buffer is then copied.
  const Model source = Model::from_tensors(cfg, params);
  // Laid out group by group (gradient_groups), by name within a group.
  std::vector<std::pair<size_t, const std::string*>> order;
  int64_t total = 0;
  for (const auto& [name, t] : source.parameters()) {
    order.emplace_back(gradient_group(cfg, name), &name);
    total += t.numel();
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  param_buf_ = Tensor::empty(DType::F32, {total});
  grad_buf_ = Tensor::zeros(DType::F32, {total});
  groups_.assign(static_cast<size_t>(cfg.num_hidden_layers + 2), {0, 0});
  int64_t offset = 0;
  for (const auto& [group, name] : order) {
    const Tensor& t = source.parameters().at(*name);
    float* p = param_buf_.data<float>() + offset;
    std::memcpy(p, t.data<float>(), t.nbytes());
    params_.emplace(*name, Tensor::borrow(DType::F32, t.shape(), p, nullptr));
    grads_.emplace(*name, Tensor::borrow(DType::F32, t.shape(), grad_buf_.data<float>() + offset, nullptr));
    offset += t.numel();
    groups_[group].second = offset;
  }
  for (size_t g = 1; g < groups_.size(); ++g) {   // begins follow ends (a group may be empty)
    groups_[g].first = groups_[g - 1].second;
    groups_[g].second = std::max(groups_[g].second, groups_[g].first);
  }
  cfg_ = std::make_shared<const Config>(std::move(cfg));
  recompute_ = cfg_->enable_recompute;
  engine_ = std::make_unique<train::Engine>(*cfg_, params_, grads_);
}

TrainableModel::~TrainableModel() = default;
TrainableModel::TrainableModel(TrainableModel&&) noexcept = default;

bool TrainableModel::trainable(const std::string& name) const {
  return !(cfg_->position_kind == PositionKind::Sinusoidal && name.ends_with("position_embeddings.weight"));
}

bool TrainableModel::decays(const std::string& name) const { return params_.at(name).rank() > 1; }

void TrainableModel::zero_grad() { std::memset(grad_buf_.raw(), 0, grad_buf_.nbytes()); }

int64_t TrainableModel::peak_activation_bytes() const { return engine_->peak_bytes; }

namespace {
train::Dropout dropout_of(const Config& cfg, const StepOptions& o) {
  train::Dropout d;
  if (o.dropout) {
    d.hidden = static_cast<float>(cfg.hidden_dropout_prob);
    d.attention = static_cast<float>(cfg.attention_probs_dropout_prob);
    d.classifier = static_cast<float>(cfg.classifier_dropout.value_or(cfg.hidden_dropout_prob));
  }
  d.seed = o.seed;
  d.micro_step = o.micro_step;
  d.first_row = o.first_row;
  d.first_token = o.first_token;
  return d;
}

void sentence_outputs(const train::Engine& e, const Config& cfg, const Batch& batch, StepResult& r) {
  if (cfg.head() != Head::PreTraining) return;
  r.sentence_logits = Tensor::empty(DType::F32, {batch.rows, 2});
  std::memcpy(r.sentence_logits.raw(), e.lm.nsp_logits.data(), r.sentence_logits.nbytes());
  r.sentence_loss = e.lm.sentence_loss;
}

Tensor logits_of(const train::Engine& e, const Config& cfg, const Batch& batch) {
  if (train::is_lm_head(cfg)) {   // the masked tokens' vocabulary logits
    const int64_t K = static_cast<int64_t>(e.lm.rows.size());
    Tensor t = Tensor::empty(DType::F32, {K, cfg.vocab_size});
    if (K > 0) std::memcpy(t.raw(), e.lm.logits.data(), t.nbytes());
    return t;
  }
  const int64_t rows = train::logit_rows(cfg, batch), N = cfg.num_labels();
  Tensor t = Tensor::empty(DType::F32, {rows, N});
  std::memcpy(t.raw(), e.head.logits, t.nbytes());
  return t;
}
}  // namespace

StepResult TrainableModel::forward_backward(const Batch& batch, const Targets& targets, const StepOptions& o) {
  engine_->reserve(batch.tokens(), batch.rows, recompute_);
  const train::Dropout d = dropout_of(*cfg_, o);
  StepResult r;
  r.loss = engine_->forward(batch, targets, d, o.loss_scale, o.sentence_loss_scale < 0 ? o.loss_scale : o.sentence_loss_scale);
  // A masked LM's K x V logits would be a large copy every step, and no training loop reads them.
  if (!train::is_lm_head(*cfg_)) r.logits = logits_of(*engine_, *cfg_, batch);
  sentence_outputs(*engine_, *cfg_, batch, r);
  engine_->backward(batch, d, o.on_gradients_ready);
  return r;
}

StepResult TrainableModel::evaluate(const Batch& batch, const Targets& targets) {
  engine_->reserve(batch.tokens(), batch.rows, recompute_);
  StepOptions o;
  o.dropout = false;
  StepResult r;
  r.loss = engine_->forward(batch, targets, dropout_of(*cfg_, o), 1.0f, 1.0f);
  r.logits = logits_of(*engine_, *cfg_, batch);
  sentence_outputs(*engine_, *cfg_, batch, r);
  return r;
}

}  // namespace ernie

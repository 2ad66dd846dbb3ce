// Whole-model training checks: loss and every parameter gradient against PyTorch (fixtures from
// tools/make_train_fixtures.py), a finite-difference check independent of PyTorch, recompute,
// thread-count reproducibility, and AdamW / schedules against their closed forms.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/optimizer.h"
#include "ernie/safetensors.h"
#include "ernie/tokenizer.h"
#include "ernie/trainable.h"
#include "test_util.h"

namespace ernie {
namespace {

namespace fs = std::filesystem;

struct Case {
  Config cfg;
  std::map<std::string, Tensor> params;
  Batch batch;
  Targets targets;
  TensorFile grads;   // "loss" and "grad.<name>"
};

Case load_case(const std::string& name) {
  const fs::path dir = testing::fixtures_dir() / "train" / name;
  Case c;
  c.cfg = load_config(dir / "config.json");
  for (auto& [n, t] : read_safetensors(dir / "model.safetensors").tensors) c.params.emplace(n, t);
  const TensorFile in = read_safetensors(dir / "batch.safetensors");
  auto get = [&](const char* key) {
    auto it = in.tensors.find(key);
    return it == in.tensors.end() ? Tensor() : it->second;
  };
  c.batch = pack_padded({get("input_ids"), get("attention_mask"), get("token_type_ids"), get("task_type_ids")}, c.cfg);
  const Tensor labels = get("labels"), mlm = get("mlm_labels"), nsp = get("next_sentence_label");
  if (mlm.defined()) {   // [B, L] -> the packed tokens' labels, in pack_padded's order
    const auto ids = mlm.to_i64(), mask = get("attention_mask").to_i64();
    for (size_t i = 0; i < ids.size(); ++i)
      if (mask[i]) c.targets.labels.push_back(static_cast<int32_t>(ids[i]));
    if (nsp.defined())
      for (int64_t v : nsp.to_i64()) c.targets.sentence_labels.push_back(static_cast<int32_t>(v));
  } else if (labels.dtype() == DType::F32) {
    c.targets.values.assign(labels.data<float>(), labels.data<float>() + labels.numel());
  } else {
    for (int64_t v : labels.to_i64()) c.targets.labels.push_back(static_cast<int32_t>(v));
  }
  c.grads = read_safetensors(dir / "grads.safetensors");
  return c;
}

StepOptions no_dropout() {
  StepOptions o;
  o.dropout = false;
  return o;
}

// max |a - b| / max(max |b|, floor): a relative error that ignores the noise of entries near zero.
// `floor` serves tensors whose exact gradient is 0 (the key bias: softmax ignores a per-query
// constant), where both sides hold only rounding noise.
double relative_error(const Tensor& a, const Tensor& b, double floor = 0) {
  double diff = 0, ref = 0;
  const Tensor bf = b.to_f32();
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a.data<float>()[i]) - bf.data<float>()[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(bf.data<float>()[i])));
  }
  ref = std::max(ref, floor);
  return ref > 0 ? diff / ref : diff;
}

double max_abs(const Tensor& t) {
  const Tensor f = t.to_f32();
  double m = 0;
  for (int64_t i = 0; i < f.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(f.data<float>()[i])));
  return m;
}

class TrainAgainstTorch : public ::testing::TestWithParam<std::string> {};

// Same weights, same batch, dropout off: loss and every gradient within 1e-4 relative of
// PyTorch's autograd (computed there in float64); relative to the tensor's largest gradient, or
// to 1e-3 of the model's largest for tensors whose gradient is (nearly) zero.
TEST_P(TrainAgainstTorch, LossAndEveryGradient) {
  Case c = load_case(GetParam());
  TrainableModel m(c.cfg, c.params);
  const StepResult r = m.forward_backward(c.batch, c.targets, no_dropout());
  const double ref_loss = c.grads.tensors.at("loss").to_f32().data<float>()[0];
  EXPECT_NEAR(r.loss, ref_loss, 1e-4 * std::max(1.0, std::fabs(ref_loss)));
  double largest = 0;
  for (const auto& [name, t] : c.grads.tensors) largest = std::max(largest, name == "loss" ? 0.0 : max_abs(t));
  int checked = 0;
  for (const auto& [name, g] : m.gradients()) {
    if (!m.trainable(name)) continue;
    auto ref = c.grads.tensors.find("grad." + name);
    ASSERT_NE(ref, c.grads.tensors.end()) << "fixture lacks grad." << name;
    ASSERT_EQ(ref->second.shape(), g.shape()) << name;
    EXPECT_LE(relative_error(g, ref->second, 1e-3 * largest), 1e-4) << name;
    ++checked;
  }
  EXPECT_EQ(checked + 0ul, c.grads.tensors.size() - 1) << "every gradient in the fixture is compared";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TrainAgainstTorch,
                         ::testing::Values("ernie_relu_seqcls_task", "bert_gelu_multilabel", "bert_gelu_new_regression",
                                           "ernie_relu_pair", "bert_gelu_mlm", "ernie_relu_pretraining"));

// A tiny model initialized from a seed, for the checks that need no reference data.
Case tiny_case(Activation act = Activation::Gelu) {
  Case c;
  c.cfg.vocab_size = 50;
  c.cfg.hidden_size = 16;
  c.cfg.num_hidden_layers = 2;
  c.cfg.num_attention_heads = 2;
  c.cfg.intermediate_size = 24;
  c.cfg.max_position_embeddings = 32;
  c.cfg.hidden_act = act;
  c.cfg.initializer_range = 0.2;   // large enough for gradients well above float noise
  c.cfg.architectures = {"BertForSequenceClassification"};
  c.cfg.model_type = ModelType::Bert;
  c.cfg.id2label = {"a", "b", "c"};
  c.params = init_parameters(c.cfg, 7);
  const std::vector<std::vector<int64_t>> rows = {{2, 5, 9, 11, 3}, {2, 7, 3}, {2, 13, 17, 19, 23, 29, 3}};
  Tensor ids = Tensor::zeros(DType::I64, {3, 7}), mask = Tensor::zeros(DType::I64, {3, 7});
  for (int b = 0; b < 3; ++b)
    for (size_t j = 0; j < rows[b].size(); ++j) {
      ids.data<int64_t>()[b * 7 + j] = rows[b][j];
      mask.data<int64_t>()[b * 7 + j] = 1;
    }
  c.batch = pack_padded({ids, mask, Tensor(), Tensor()}, c.cfg);
  c.targets.labels = {0, 2, 1};
  return c;
}

// Central differences in the loss against the analytic gradient, for a sample of entries of every
// kind of parameter (independent of PyTorch).
TEST(TrainModel, FiniteDifferences) {
  Case c = tiny_case();
  TrainableModel m(c.cfg, c.params);
  m.forward_backward(c.batch, c.targets, no_dropout());
  std::map<std::string, Tensor> analytic;
  for (const auto& [name, g] : m.gradients()) analytic[name] = g.to(DType::F32);
  int checked = 0;
  for (const auto& [name, p] : m.parameters()) {
    float* w = const_cast<float*>(p.data<float>());
    for (int64_t i : {int64_t{0}, p.numel() / 3, p.numel() - 1}) {
      const float a = analytic[name].data<float>()[i];
      const float saved = w[i];
      const float h = 1e-2f;
      w[i] = saved + h;
      const double up = m.evaluate(c.batch, c.targets).loss;
      w[i] = saved - h;
      const double down = m.evaluate(c.batch, c.targets).loss;
      w[i] = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(a, numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 60);
}

// The same check with every dropout on (masks are a pure function of seed, micro-step, site and
// element, so each forward pass below drops the same units): the backward pass of every dropout
// site, attention probabilities and classifier included, against the loss it differentiates.
TEST(TrainModel, FiniteDifferencesWithDropout) {
  Case c = tiny_case();
  c.cfg.hidden_dropout_prob = 0.3f;
  c.cfg.attention_probs_dropout_prob = 0.3f;
  c.cfg.classifier_dropout = 0.3f;
  TrainableModel m(c.cfg, c.params);
  StepOptions o;
  o.seed = 11;
  o.micro_step = 2;
  const double loss = m.forward_backward(c.batch, c.targets, o).loss;
  EXPECT_GT(std::fabs(loss - m.evaluate(c.batch, c.targets).loss), 1e-4) << "dropout changes the loss";
  std::map<std::string, Tensor> analytic;
  for (const auto& [name, g] : m.gradients()) analytic[name] = g.to(DType::F32);
  int checked = 0;
  for (const auto& [name, p] : m.parameters()) {
    float* w = const_cast<float*>(p.data<float>());
    for (int64_t i : {int64_t{0}, p.numel() / 3, p.numel() / 2, p.numel() - 1}) {
      const float a = analytic[name].data<float>()[i];
      const float saved = w[i];
      const float h = 1e-2f;
      w[i] = saved + h;
      const double up = m.forward_backward(c.batch, c.targets, o).loss;
      w[i] = saved - h;
      const double down = m.forward_backward(c.batch, c.targets, o).loss;
      w[i] = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(a, numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 80);
}

// Data parallelism's core: a batch cut into shards, each told where it starts (first row and
// token) and weighted by its share of the rows, gives the whole batch's loss and, summed, its
// gradients, with dropout on (the masks are the whole batch's).
TEST(TrainModel, ShardsSumToTheWholeBatch) {
  Case c = tiny_case();
  c.cfg.hidden_dropout_prob = c.cfg.attention_probs_dropout_prob = 0.3f;
  c.cfg.classifier_dropout = 0.3f;
  const std::vector<std::vector<int32_t>> rows = {{2, 5, 9, 11, 3}, {2, 7, 3}, {2, 13, 17, 19, 23, 29, 3}};
  auto pack = [&](size_t begin, size_t end) {
    std::vector<Encoding> encs;
    for (size_t r = begin; r < end; ++r) {
      Encoding e;
      e.ids = rows[r];
      e.type_ids.assign(e.ids.size(), 0);
      e.attention_mask.assign(e.ids.size(), 1);
      encs.push_back(e);
    }
    return pack_encodings(encs, c.cfg);
  };
  StepOptions o;
  o.seed = 11;
  o.micro_step = 4;
  TrainableModel whole(c.cfg, c.params), parts(c.cfg, c.params);
  const std::vector<int32_t> labels = {0, 2, 1};
  const double loss = whole.forward_backward(pack(0, 3), {labels, {}, {}}, o).loss;

  double shard_loss = 0;
  std::vector<size_t> ready;
  for (const auto& [begin, end] : {std::pair<size_t, size_t>{0, 1}, {1, 3}}) {
    StepOptions so = o;
    so.first_row = static_cast<int64_t>(begin);
    so.first_token = begin == 0 ? 0 : 5;
    so.loss_scale = static_cast<float>(end - begin) / 3.0f;
    so.on_gradients_ready = [&](size_t g) { ready.push_back(g); };
    Targets t;
    t.labels.assign(labels.begin() + static_cast<int64_t>(begin), labels.begin() + static_cast<int64_t>(end));
    shard_loss += parts.forward_backward(pack(begin, end), t, so).loss * so.loss_scale;
  }
  EXPECT_NEAR(shard_loss, loss, 1e-6 * std::fabs(loss));
  double largest = 0;
  for (const auto& [name, g] : whole.gradients()) largest = std::max(largest, max_abs(g));
  for (const auto& [name, g] : whole.gradients()) {
    // The key biases' exact gradient is 0 (softmax ignores a shift shared by a row's scores):
    // both sides are rounding noise, whose size depends on the kernels' summation order (AVX2 vs
    // AVX-512), so they are held to being noise rather than to agreeing with each other.
    if (name.find("attention.self.key.bias") != std::string::npos) {
      EXPECT_LT(max_abs(g), 1e-6 * largest) << name;
      EXPECT_LT(max_abs(parts.gradients().at(name)), 1e-6 * largest) << name;
      continue;
    }
    EXPECT_LT(relative_error(parts.gradients().at(name), g, 1e-3 * largest), 1e-5) << name;
  }
  // Each shard reported every group once, in backward order: head, layers from the last, embeddings.
  EXPECT_EQ(ready, std::vector<size_t>({0, 1, 2, 3, 0, 1, 2, 3}));
}

// The flat buffers are laid out group after group, so that a run of groups is one contiguous range.
TEST(TrainModel, GradientGroupsTileTheStorage) {
  Case c = tiny_case();
  TrainableModel m(c.cfg, c.params);
  const auto& groups = m.gradient_groups();
  ASSERT_EQ(groups.size(), static_cast<size_t>(c.cfg.num_hidden_layers + 2));
  EXPECT_EQ(groups.front().first, 0);
  EXPECT_EQ(groups.back().second, m.gradient_storage().numel());
  for (size_t g = 1; g < groups.size(); ++g) EXPECT_EQ(groups[g].first, groups[g - 1].second);
  const float* base = m.gradient_storage().data<float>();
  auto group_of = [&](const std::string& name) {
    const int64_t at = m.gradients().at(name).data<float>() - base;
    for (size_t g = 0; g < groups.size(); ++g)
      if (at >= groups[g].first && at < groups[g].second) return g;
    return groups.size();
  };
  EXPECT_EQ(group_of("classifier.weight"), 0u);
  EXPECT_EQ(group_of("bert.pooler.dense.weight"), 0u);
  EXPECT_EQ(group_of("bert.encoder.layer.1.output.dense.weight"), 1u);
  EXPECT_EQ(group_of("bert.encoder.layer.0.attention.self.query.weight"), 2u);
  EXPECT_EQ(group_of("bert.embeddings.word_embeddings.weight"), 3u);
}

// Recompute drops the layer activations and rebuilds them (dropout masks included) in backward:
// the same gradients, bit for bit, with a smaller activation arena.
TEST(TrainModel, RecomputeGivesIdenticalGradientsWithLessMemory) {
  Case c = tiny_case();
  c.cfg.num_hidden_layers = 4;
  c.params = init_parameters(c.cfg, 7);
  StepOptions o;
  o.seed = 99;
  o.micro_step = 5;
  TrainableModel plain(c.cfg, c.params), again(c.cfg, c.params);
  again.set_recompute(true);
  const double l1 = plain.forward_backward(c.batch, c.targets, o).loss;
  const double l2 = again.forward_backward(c.batch, c.targets, o).loss;
  EXPECT_EQ(l1, l2);
  const Tensor& g1 = plain.gradient_storage();
  const Tensor& g2 = again.gradient_storage();
  EXPECT_EQ(std::memcmp(g1.raw(), g2.raw(), g1.nbytes()), 0);
  EXPECT_LT(again.peak_activation_bytes(), plain.peak_activation_bytes());
}

// Dropout masks depend on (seed, micro-step, site, element), not on threads; other seeds differ.
TEST(TrainModel, DropoutReproducibleAcrossThreads) {
  Case c = tiny_case();
  StepOptions o;
  o.seed = 3;
  TrainableModel a(c.cfg, c.params), b(c.cfg, c.params), other(c.cfg, c.params);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const double la = a.forward_backward(c.batch, c.targets, o).loss;
  omp_set_num_threads(std::max(2, threads));
  const double lb = b.forward_backward(c.batch, c.targets, o).loss;
  o.seed = 4;
  const double lo = other.forward_backward(c.batch, c.targets, o).loss;
  omp_set_num_threads(threads);
  EXPECT_NEAR(la, lb, 1e-6);
  EXPECT_GT(std::fabs(la - lo), 1e-6);
  EXPECT_LE(relative_error(a.gradient_storage(), b.gradient_storage()), 1e-5);
}

TEST(TrainModel, GradientsAccumulateAndZero) {
  Case c = tiny_case();
  TrainableModel m(c.cfg, c.params);
  m.forward_backward(c.batch, c.targets, no_dropout());
  const Tensor once = m.gradient_storage().to(DType::F32);
  m.forward_backward(c.batch, c.targets, no_dropout());
  for (int64_t i = 0; i < once.numel(); i += 97)
    EXPECT_NEAR(m.gradient_storage().data<float>()[i], 2 * once.data<float>()[i], 1e-6 + 1e-5 * std::fabs(once.data<float>()[i]));
  m.zero_grad();
  for (int64_t i = 0; i < once.numel(); ++i) ASSERT_EQ(m.gradient_storage().data<float>()[i], 0.0f);
}

TEST(TrainModel, RefusesWhatItCannotTrain) {
  Case c = tiny_case();
  Config qa = c.cfg;
  qa.architectures = {"BertForQuestionAnswering"};
  EXPECT_THROW(TrainableModel(qa, init_parameters(qa, 1)), Error);
  // A masked LM trains, but wants a label per token (-100: not predicted) and labels in the vocabulary.
  Config mlm = c.cfg;
  mlm.architectures = {"BertForMaskedLM"};
  TrainableModel lm(mlm, init_parameters(mlm, 1));
  Targets few;
  few.labels = {-100, 3};
  EXPECT_THROW(lm.forward_backward(c.batch, few, no_dropout()), Error);
  Targets outside;
  outside.labels.assign(static_cast<size_t>(c.batch.tokens()), -100);
  outside.labels[1] = static_cast<int32_t>(mlm.vocab_size);
  EXPECT_THROW(lm.forward_backward(c.batch, outside, no_dropout()), Error);
  TrainableModel m(c.cfg, c.params);
  Targets bad;
  bad.labels = {0, 5, 1};   // 5 is not a label
  EXPECT_THROW(m.forward_backward(c.batch, bad, no_dropout()), Error);
  bad.labels = {0, 1};      // too few
  EXPECT_THROW(m.forward_backward(c.batch, bad, no_dropout()), Error);
}

// AdamW's first step has a closed form: m̂ = g, v̂ = g², so p' = p (1 - lr wd) - lr g / (|g| + eps);
// parameters that do not decay (1-D: biases, LayerNorm) skip the first factor.
TEST(Optimizer, FirstAdamWStepClosedForm) {
  Case c = tiny_case();
  TrainableModel m(c.cfg, c.params);
  m.forward_backward(c.batch, c.targets, no_dropout());
  const Tensor before = m.parameter_storage().to(DType::F32);
  AdamWOptions ao;
  ao.weight_decay = 0.1;
  AdamW opt(m, ao);
  const double lr = 1e-3;
  opt.step(lr);
  const float* base = m.parameter_storage().data<float>();
  for (const auto& [name, p] : m.parameters()) {
    const int64_t off = p.data<float>() - base;
    const bool decay = p.rank() > 1;
    for (int64_t i = 0; i < p.numel(); i += 7) {
      const double w = before.data<float>()[off + i], g = m.gradients().at(name).data<float>()[i];
      const double want = w * (decay ? 1 - lr * 0.1 : 1.0) - lr * g / (std::fabs(g) + 1e-8);
      ASSERT_NEAR(p.data<float>()[i], want, 1e-6 + 1e-6 * std::fabs(want)) << name << "[" << i << "]";
    }
  }
}

// LAMB's first step: u = g / (|g| + eps) + wd p (decaying tensors), then per tensor
// p' = p - lr (||p|| / ||u||) u (You et al. 2020, Algorithm 2), computed here in double.
TEST(Optimizer, FirstLambStepClosedForm) {
  Case c = tiny_case();
  TrainableModel m(c.cfg, c.params);
  m.forward_backward(c.batch, c.targets, no_dropout());
  const Tensor before = m.parameter_storage().to(DType::F32);
  AdamWOptions ao;
  ao.weight_decay = 0.1;
  ao.lamb = true;
  AdamW opt(m, ao);
  const double lr = 1e-2;
  opt.step(lr);
  const float* base = m.parameter_storage().data<float>();
  for (const auto& [name, p] : m.parameters()) {
    const int64_t off = p.data<float>() - base;
    const double wd = p.rank() > 1 ? 0.1 : 0.0;
    const float* g = m.gradients().at(name).data<float>();
    std::vector<double> u(static_cast<size_t>(p.numel()));
    double pn = 0, un = 0;
    for (int64_t i = 0; i < p.numel(); ++i) {
      const double w = before.data<float>()[off + i];
      u[i] = g[i] / (std::fabs(static_cast<double>(g[i])) + 1e-8) + wd * w;
      pn += w * w;
      un += u[i] * u[i];
    }
    const double ratio = pn > 0 && un > 0 ? std::sqrt(pn / un) : 1.0;
    for (int64_t i = 0; i < p.numel(); i += 5) {
      const double want = before.data<float>()[off + i] - lr * ratio * u[i];
      ASSERT_NEAR(p.data<float>()[i], want, 1e-5 + 1e-5 * std::fabs(want)) << name << "[" << i << "]";
    }
  }
  EXPECT_THROW(AdamW(m, ao, {0, 10}), Error);   // a shard cuts tensors: refused
}

TEST(Optimizer, SchedulesAsTransformers) {
  // get_linear_schedule_with_warmup(warmup=10, total=110): step/10, then (110 - step)/100.
  // get_polynomial_decay_schedule_with_warmup(warmup=10, total=110, lr_end=0.1 lr, power=2):
  // step 60 has half of the decay left: 0.1 + 0.9 * 0.5^2 = 0.325; past the end: lr_end.
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Polynomial, 5, 10, 110, 2.0, 0.1), 0.5);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Polynomial, 60, 10, 110, 2.0, 0.1), 0.325);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Polynomial, 110, 10, 110, 2.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Polynomial, 200, 10, 110, 2.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Polynomial, 60, 10, 110), schedule_factor(Schedule::Linear, 60, 10, 110));
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Linear, 0, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Linear, 5, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Linear, 10, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Linear, 60, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Linear, 110, 10, 110), 0.0);
  // cosine: 0.5 (1 + cos(pi progress)); halfway = 0.5, a quarter = (1 + cos(pi/4)) / 2.
  EXPECT_NEAR(schedule_factor(Schedule::Cosine, 60, 10, 110), 0.5, 1e-12);
  EXPECT_NEAR(schedule_factor(Schedule::Cosine, 35, 10, 110), 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  EXPECT_DOUBLE_EQ(schedule_factor(Schedule::Constant, 80, 10, 110), 1.0);
  EXPECT_THROW(parse_schedule("exponential"), Error);
}

TEST(Optimizer, ClipByGlobalNorm) {
  Case c = tiny_case();
  TrainableModel m(c.cfg, c.params);
  m.forward_backward(c.batch, c.targets, no_dropout());
  double sq = 0;
  const Tensor& g = m.gradient_storage();
  for (int64_t i = 0; i < g.numel(); ++i) sq += static_cast<double>(g.data<float>()[i]) * g.data<float>()[i];
  const double norm = clip_grad_norm(m, 0.0);   // 0: measure only
  EXPECT_NEAR(norm, std::sqrt(sq), 1e-6 * std::sqrt(sq));
  clip_grad_norm(m, norm / 4);
  EXPECT_NEAR(clip_grad_norm(m, 0.0), norm / 4, 1e-4 * norm);
}

}  // namespace
}  // namespace ernie

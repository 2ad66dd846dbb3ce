// The fine-tuning loop behind `ernie train` (see ernie/trainer.h).
//
// Determinism: the data order of epoch e is a permutation drawn from (seed, e); dropout masks
// from (seed, micro-step, site, element); every reduction has a fixed order. So a run is a pure
// function of its inputs and seed, and --resume from any checkpoint reaches the same weights as
// an uninterrupted run.
#include "ernie/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ernie/atomic_file.h"
#include "ernie/dataset.h"
#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/metrics.h"
#include "ernie/model.h"
#include "ernie/optimizer.h"
#include "ernie/params.h"
#include "ernie/rng.h"
#include "ernie/safetensors.h"
#include "ernie/tokenizer.h"
#include "ernie/trainable.h"
#include "train/report.h"

namespace ernie {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using Log = std::function<void(const std::string&)>;

// ---- model, tokenizer, data -------------------------------------------------------------------

Tokenizer load_tokenizer(const TrainOptions& o) {
  if (!o.vocab.empty()) {
    TokenizerOptions t;
    t.lowercase = o.lowercase;
    return Tokenizer::from_vocab_file(o.vocab, t);
  }
  if (!o.init_from.empty()) return Tokenizer::from_folder(o.init_from);
  throw Error("no tokenizer: give --vocab (or --init-from a model folder that has one)");
}

// An explicit --problem-type that does not fit the data's format is refused by read_dataset.
TaskType task_of(const TrainOptions& o, const Config& base, DataFormat format) {
  if (!o.problem_type.empty()) return parse_task_type(o.problem_type);
  if (format == DataFormat::Conll) return TaskType::TokenClassification;
  if (!base.problem_type.empty()) return parse_task_type(base.problem_type);
  return TaskType::SingleLabel;
}

Head head_of(TaskType task) {
  return task == TaskType::TokenClassification ? Head::TokenClassification : Head::SequenceClassification;
}

// The classifier's config: the base config with a sequence- or token-classification head over `labels`.
Config classifier_config(Config cfg, const LabelSet& labels, TaskType task, int64_t regression_outputs) {
  cfg.architectures = {std::string(class_prefix(cfg.model_type)) + to_string(head_of(task))};
  // transformers' problem_type only names the sequence-classification losses.
  cfg.problem_type = task == TaskType::TokenClassification ? "" : task_type_name(task);
  cfg.id2label.clear();
  if (task == TaskType::Regression)
    for (int64_t i = 0; i < regression_outputs; ++i) cfg.id2label.push_back("LABEL_" + std::to_string(i));
  else
    cfg.id2label = labels.names;
  cfg.labels_given = true;
  // The file's own label keys describe the old head: the labels above replace them.
  for (const char* key : {"id2label", "label2id", "num_labels", "num_classes"}) cfg.original.erase(key);
  if (cfg.original.contains("init_args") && cfg.original["init_args"].is_array())
    for (auto& a : cfg.original["init_args"])
      if (a.is_object())
        for (const char* key : {"id2label", "label2id", "num_labels", "num_classes"}) a.erase(key);
  return cfg;
}

// Fresh weights from the seed; with --init-from, every tensor the checkpoint has with the same
// name (or the same name under another base prefix) and shape replaces the fresh one. A head
// whose shape differs is re-initialized with a warning (transformers' ignore_mismatched_sizes).
std::map<std::string, Tensor> initial_parameters(const Config& cfg, const TrainOptions& o, const Log& log) {
  std::map<std::string, Tensor> params = init_parameters(cfg, o.seed);
  if (o.init_from.empty()) return params;
  const Model source = Model::load(o.init_from);
  const std::string prefix = cfg.base_prefix() + ".", src_prefix = source.config().base_prefix() + ".";
  std::vector<std::string> fresh;
  for (auto& [name, t] : params) {
    std::string src = name;
    if (!source.parameters().count(src) && name.starts_with(prefix)) {
      const std::string rest = name.substr(prefix.size());
      src = source.parameters().count(src_prefix + rest) ? src_prefix + rest : rest;   // bare ...Model
    }
    auto it = source.parameters().find(src);
    if (it == source.parameters().end()) {
      fresh.push_back(name);
    } else if (it->second.shape() != t.shape()) {
      log("warning: " + name + " has shape " + shape_str(it->second.shape()) + " in " + o.init_from.string() +
          " but the new head needs " + shape_str(t.shape()) + ": re-initialized");
    } else {
      std::memcpy(t.raw(), it->second.raw(), t.nbytes());
    }
  }
  if (!fresh.empty()) {
    std::string names;
    for (const auto& n : fresh) names += (names.empty() ? "" : ", ") + n;
    log("note: newly initialized (not in " + o.init_from.string() + "): " + names);
  }
  return params;
}

// A dataset tokenized once: encodings and their targets.
struct Encoded {
  std::vector<Encoding> encs;
  std::vector<int32_t> labels;    // [n] single-label
  std::vector<float> targets;     // [n, outputs] multi-label / regression
  std::vector<std::vector<int32_t>> token_labels;   // token classification: [n][tokens], -100 = ignored
  int64_t outputs = 0;
};

Encoded encode(const Dataset& data, const Tokenizer& tok, int64_t max_len, TaskType task, int64_t outputs) {
  EncodeOptions eo;
  eo.max_length = static_cast<size_t>(max_len);
  Encoded e;
  e.outputs = outputs;
  e.encs.reserve(data.examples.size());
  std::vector<int64_t> first_piece;
  for (const Example& ex : data.examples) {
    if (task == TaskType::TokenClassification) {
      e.encs.push_back(tok.encode_words(ex.words, eo, first_piece));
      std::vector<int32_t>& labels = e.token_labels.emplace_back(e.encs.back().size(), -100);
      for (size_t w = 0; w < ex.words.size(); ++w)
        if (first_piece[w] >= 0) labels[first_piece[w]] = ex.tags[w];
      continue;
    }
    e.encs.push_back(data.pairs ? tok.encode_pair(ex.text_a, ex.text_b, eo) : tok.encode(ex.text_a, eo));
    if (task == TaskType::SingleLabel) {
      e.labels.push_back(ex.label);
    } else {
      if (static_cast<int64_t>(ex.targets.size()) != outputs)
        throw Error("line " + std::to_string(ex.line) + ": " + std::to_string(ex.targets.size()) +
                    " target values, the model has " + std::to_string(outputs) + " outputs");
      e.targets.insert(e.targets.end(), ex.targets.begin(), ex.targets.end());
    }
  }
  return e;
}

struct Slice {
  Batch batch;
  Targets targets;
};

Slice make_slice(const Encoded& e, const std::vector<int64_t>& order, int64_t begin, int64_t end, const Config& cfg) {
  std::vector<Encoding> encs;
  Slice s;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t k = order[i];
    encs.push_back(e.encs[k]);
    if (!e.labels.empty()) s.targets.labels.push_back(e.labels[k]);
    if (!e.token_labels.empty())   // packed in row order (pack_encodings)
      s.targets.labels.insert(s.targets.labels.end(), e.token_labels[k].begin(), e.token_labels[k].end());
    if (e.outputs && !e.targets.empty())
      s.targets.values.insert(s.targets.values.end(), e.targets.begin() + k * e.outputs,
                              e.targets.begin() + (k + 1) * e.outputs);
  }
  s.batch = pack_encodings(encs, cfg);
  return s;
}

// Fisher-Yates with counter-based draws: the order of epoch `epoch` depends on (seed, epoch) only.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const CounterRng rng(seed, 0x0da7a000ull + static_cast<uint64_t>(epoch));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(i)) * static_cast<float>(i + 1));
    std::swap(order[i], order[std::min(j, i)]);
  }
  return order;
}

// ---- evaluation ---------------------------------------------------------------------------------

struct EvalResult {
  double loss = 0;
  double accuracy = 0, macro_f1 = 0;   // (regression: accuracy = NaN, macro_f1 = NaN)
  double entity_precision = NAN, entity_recall = NAN, entity_f1 = NAN;   // token classification (micro)
  std::string report_text, report_json;
  double score = 0;                    // higher is better: accuracy, micro-F1 (labels or entities) or -MSE
};

// Token classification: token accuracy over the tagged words (their first pieces) and entity
// P/R/F1 over the chunks of each sentence's tagged words (ernie/metrics.h).
void token_metrics(const Encoded& e, const std::vector<float>& logits, const std::vector<std::string>& names,
                   EvalResult& out) {
  const auto N = static_cast<int64_t>(names.size());
  ConfusionMatrix cm(static_cast<int32_t>(N));
  std::vector<std::vector<std::string>> truth(e.token_labels.size()), predicted(e.token_labels.size());
  int64_t t = 0;   // row into logits [T, N]
  for (size_t i = 0; i < e.token_labels.size(); ++i)
    for (const int32_t label : e.token_labels[i]) {
      const float* z = logits.data() + t++ * N;
      if (label == -100) continue;
      const auto p = static_cast<int32_t>(std::max_element(z, z + N) - z);
      cm.add(label, p);
      truth[i].push_back(names[label]);
      predicted[i].push_back(names[p]);
    }
  const EntityMetrics m = entity_metrics(truth, predicted);
  out.accuracy = classification_metrics(cm).accuracy;
  out.macro_f1 = m.macro_f1;
  out.entity_precision = m.precision;
  out.entity_recall = m.recall;
  out.entity_f1 = m.f1;
  out.score = m.f1;
  char accuracy[64];
  std::snprintf(accuracy, sizeof accuracy, "token accuracy %.4f (%lld tagged words)\n\n", out.accuracy,
                static_cast<long long>(cm.total()));
  out.report_text = accuracy + std::string("Entities (micro avg: every chunk counts once)\n") + entity_report_text(m) +
                    "\nTag confusion matrix (rows: truth, columns: predicted)\n" + confusion_matrix_text(cm, names);
  out.report_json = "{\"token_accuracy\":" + json_number(out.accuracy) + ",\"tagged_words\":" +
                    std::to_string(cm.total()) + ",\"entities\":" + entity_report_json(m) +
                    ",\"confusion_matrix\":" + confusion_matrix_json(cm, names) + "}";
}

EvalResult evaluate(TrainableModel& model, const Encoded& e, TaskType task, const std::vector<std::string>& names,
                    int64_t batch_size) {
  const Config& cfg = model.config();
  const int64_t n = static_cast<int64_t>(e.encs.size()), N = cfg.num_labels();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> logits;
  double loss_sum = 0, weight_sum = 0;
  for (int64_t b = 0; b < n; b += batch_size) {
    const int64_t end = std::min(n, b + batch_size);
    const Slice s = make_slice(e, order, b, end, cfg);
    const StepResult r = model.evaluate(s.batch, s.targets);
    // The batch's loss is a mean over its rows, or over its tagged tokens (token classification).
    const auto weight = static_cast<double>(task == TaskType::TokenClassification
                                                ? std::count_if(s.targets.labels.begin(), s.targets.labels.end(),
                                                                [](int32_t l) { return l != -100; })
                                                : end - b);
    loss_sum += r.loss * weight;
    weight_sum += weight;
    logits.insert(logits.end(), r.logits.data<float>(), r.logits.data<float>() + r.logits.numel());
  }
  EvalResult out;
  out.loss = loss_sum / std::max(weight_sum, 1.0);
  if (task == TaskType::TokenClassification) {
    token_metrics(e, logits, names, out);
  } else if (task == TaskType::SingleLabel) {
    ConfusionMatrix cm(static_cast<int32_t>(N));
    for (int64_t i = 0; i < n; ++i) {
      const float* z = logits.data() + i * N;
      cm.add(e.labels[i], static_cast<int32_t>(std::max_element(z, z + N) - z));
    }
    const ClassificationMetrics m = classification_metrics(cm);
    out.accuracy = m.accuracy;
    out.macro_f1 = m.macro_f1;
    out.score = m.accuracy;
    out.report_text = classification_report_text(m, names) + "\nConfusion matrix (rows: truth, columns: predicted)\n" +
                      confusion_matrix_text(cm, names);
    out.report_json = "{\"report\":" + classification_report_json(m, names) +
                      ",\"confusion_matrix\":" + confusion_matrix_json(cm, names) + "}";
  } else if (task == TaskType::MultiLabel) {
    const MultiLabelMetrics m = multilabel_metrics(logits, e.targets, static_cast<int32_t>(N));
    out.accuracy = m.subset_accuracy;
    out.macro_f1 = m.macro_f1;
    out.score = m.micro_f1;
    out.report_json = multilabel_report_json(m, names);
    out.report_text = out.report_json + "\n";
  } else {
    const RegressionMetrics m = regression_metrics(logits, e.targets);
    out.accuracy = out.macro_f1 = NAN;
    out.score = -m.mse;
    out.report_json = regression_report_json(m);
    out.report_text = out.report_json + "\n";
  }
  return out;
}

// ---- checkpoints ----------------------------------------------------------------------------------

// Everything a resumed run needs, in one atomically written file: parameters, AdamW moments and
// the loop's state (step, history, best epoch) as JSON metadata.
struct History {
  std::vector<std::pair<int64_t, double>> step_loss;   // (optimizer step, mean loss of its micro-batches)
  std::vector<json> epochs;                            // the per-epoch JSON lines
  double best_score = -INFINITY;
  int best_epoch = 0, bad_epochs = 0;
};

json history_json(const History& h) {
  json steps = json::array();
  for (const auto& [s, l] : h.step_loss) steps.push_back({s, l});
  return {{"step_loss", steps}, {"epochs", h.epochs}, {"best_score", std::isfinite(h.best_score) ? json(h.best_score) : json()},
          {"best_epoch", h.best_epoch}, {"bad_epochs", h.bad_epochs}};
}

History history_from(const json& j) {
  History h;
  for (const auto& s : j.at("step_loss")) h.step_loss.emplace_back(s.at(0).get<int64_t>(), s.at(1).get<double>());
  for (const auto& e : j.at("epochs")) h.epochs.push_back(e);
  h.best_score = j.at("best_score").is_null() ? -INFINITY : j.at("best_score").get<double>();
  h.best_epoch = j.at("best_epoch").get<int>();
  h.bad_epochs = j.at("bad_epochs").get<int>();
  return h;
}

// What must not change between a run and its resumption.
json fingerprint(const TrainOptions& o, int64_t params, int64_t train_rows, int64_t eval_rows) {
  return {{"parameters", params}, {"train_rows", train_rows}, {"eval_rows", eval_rows}, {"seed", o.seed},
          {"batch_size", o.batch_size}, {"grad_accum", o.grad_accum}, {"epochs", o.epochs}, {"lr", o.lr},
          {"warmup_ratio", o.warmup_ratio}, {"weight_decay", o.weight_decay}, {"schedule", o.schedule},
          {"max_seq_len", o.max_seq_len}, {"max_grad_norm", o.max_grad_norm}};
}

fs::path state_file(const TrainOptions& o) { return o.out / "checkpoint" / "trainer_state.safetensors"; }

void save_state(const TrainOptions& o, TrainableModel& model, AdamW& opt, int64_t step, const History& h,
                const json& fp) {
  fs::create_directories(o.out / "checkpoint");
  const json state = {{"step", step}, {"history", history_json(h)}, {"fingerprint", fp}};
  write_safetensors(state_file(o),
                    {{"parameters", model.parameter_storage()},
                     {"adamw.exp_avg", opt.first_moment()},
                     {"adamw.exp_avg_sq", opt.second_moment()}},
                    {{"format", "ernie-trainer-state"}, {"state", state.dump()}});
}

int64_t load_state(const TrainOptions& o, TrainableModel& model, AdamW& opt, History& h, const json& fp) {
  const fs::path file = state_file(o);
  if (!fs::exists(file)) throw Error("--resume: no checkpoint at " + file.string());
  const TensorFile tf = read_safetensors(file);
  auto meta = tf.metadata.find("state");
  if (meta == tf.metadata.end()) throw Error(file.string() + ": not a trainer state (no 'state' metadata)");
  const json state = json::parse(meta->second);
  if (state.at("fingerprint") != fp)
    throw Error("--resume: " + file.string() + " was written by a run with other settings or data (saved " +
                state.at("fingerprint").dump() + ", now " + fp.dump() + ")");
  auto restore = [&](const char* name, Tensor& dst) {
    auto it = tf.tensors.find(name);
    if (it == tf.tensors.end() || it->second.dtype() != DType::F32 || it->second.numel() != dst.numel())
      throw Error(file.string() + ": tensor " + name + " is missing or has the wrong size");
    std::memcpy(dst.raw(), it->second.raw(), dst.nbytes());
  };
  restore("parameters", model.parameter_storage());
  restore("adamw.exp_avg", opt.first_moment());
  restore("adamw.exp_avg_sq", opt.second_moment());
  h = history_from(state.at("history"));
  const int64_t step = state.at("step").get<int64_t>();
  opt.set_steps(step);
  return step;
}

// The model folder: config.json (labels from the data), model.safetensors, the tokenizer.
void save_model(const TrainOptions& o, const TrainableModel& model, const Tokenizer& tok) {
  save_config(model.config(), o.out / "config.json");
  write_safetensors(o.out / "model.safetensors", model.parameters());
  tok.save(o.out);
}

TrainingCurves curves_of(const History& h, const TrainOptions& o) {
  TrainingCurves c;
  c.subtitle = "model " + o.out.string() + " · data " + o.train_file.filename().string() + " · " +
               std::to_string(o.epochs) + " epochs";
  c.step_loss = h.step_loss;
  auto number = [](const json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
  };
  for (const json& e : h.epochs)
    c.epochs.push_back({e.at("epoch").get<int>(), e.at("step").get<int64_t>(), number(e, "train_loss"),
                        number(e, "eval_loss"), number(e, "eval_accuracy"), number(e, "eval_macro_f1")});
  return c;
}

// ---- progress -------------------------------------------------------------------------------------

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

void show_progress(int epoch, int epochs, int64_t done, int64_t total, double loss, double tokens_per_s,
                   double eta) {
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * done / std::max<int64_t>(total, 1));
  std::fprintf(stderr, "\repoch %d/%d [%s%s] %lld/%lld loss %.4f %.0f tok/s ETA %s   ", epoch, epochs,
               std::string(filled, '=').c_str(), std::string(kWidth - filled, ' ').c_str(),
               static_cast<long long>(done), static_cast<long long>(total), loss, tokens_per_s,
               clock_text(eta).c_str());
  std::fflush(stderr);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void run_training(const TrainOptions& o, const std::function<void(const std::string&)>& epoch_json, const Log& log) {
  if (o.config.empty() == o.init_from.empty()) throw Error("give exactly one of --config and --init-from");
  if (o.out.empty()) throw Error("--out is required");
  if (o.epochs < 1 || o.batch_size < 1 || o.grad_accum < 1 || o.max_seq_len < 3)
    throw Error("--epochs, --batch-size and --grad-accum must be positive and --max-seq-len at least 3");
  if (!(o.lr > 0) || o.warmup_ratio < 0 || o.warmup_ratio > 1 || o.weight_decay < 0)
    throw Error("--lr must be positive, --warmup-ratio in [0, 1], --weight-decay non-negative");
  if (o.dropout && !(*o.dropout >= 0 && *o.dropout < 1)) throw Error("--dropout must be in [0, 1)");
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Schedule schedule = parse_schedule(o.schedule);

  // Config, labels, data.
  Config base = o.init_from.empty() ? load_config(o.config) : load_config(o.init_from);
  if (o.dropout) base.hidden_dropout_prob = base.attention_probs_dropout_prob = *o.dropout, base.classifier_dropout.reset();
  const DataFormat format = parse_data_format(o.format);
  const TaskType task = task_of(o, base, resolve_data_format(o.train_file, format));
  const Tokenizer tok = load_tokenizer(o);
  if (static_cast<int64_t>(tok.vocab().size()) > base.vocab_size)
    throw Error("the vocabulary has " + std::to_string(tok.vocab().size()) + " tokens but the config's vocab_size is " +
                std::to_string(base.vocab_size));
  DataOptions dopt;
  dopt.task = task;
  dopt.format = format;
  dopt.text_field = o.text_field;
  dopt.text_b_field = o.text_b_field;
  dopt.label_field = o.label_field;
  dopt.skip_bad_rows = o.skip_bad_rows;
  LabelSet labels;
  if (!o.labels_file.empty()) labels = LabelSet::from_file(o.labels_file);
  Dataset train_data = read_dataset(o.train_file, dopt, labels, /*may_add_labels=*/true);
  // Fine-tuning a classifier on its own labels keeps its head and label order; other labels get
  // a new head (initial_parameters re-initializes what no longer fits).
  if (o.labels_file.empty() && !o.init_from.empty() && base.labels_given &&
      base.head() == head_of(task) && task != TaskType::Regression) {
    LabelSet old = LabelSet::from_names(base.id2label);
    if (std::all_of(labels.names.begin(), labels.names.end(), [&](const std::string& n) { return old.index_of(n) >= 0; })) {
      labels = std::move(old);
      train_data = read_dataset(o.train_file, dopt, labels, /*may_add_labels=*/false);
    }
  }
  if (train_data.skipped) log("skipped " + std::to_string(train_data.skipped) + " bad rows of " + o.train_file.string());
  for (const auto& r : train_data.skipped_reasons) log("  " + r);
  Dataset eval_data;
  if (!o.eval_file.empty()) {
    dopt.columns = train_data.pairs ? 3 : 2;
    eval_data = read_dataset(o.eval_file, dopt, labels, /*may_add_labels=*/false);
    if (eval_data.skipped) log("skipped " + std::to_string(eval_data.skipped) + " bad rows of " + o.eval_file.string());
  }
  const int64_t outputs = task == TaskType::Regression ? static_cast<int64_t>(train_data.examples.front().targets.size())
                                                        : labels.size();
  if (labels.size() < 2 && (task == TaskType::SingleLabel || task == TaskType::TokenClassification))
    throw Error(o.train_file.string() + ": a classifier needs at least 2 labels, found " + std::to_string(labels.size()));
  const Config cfg = classifier_config(base, labels, task, outputs);
  if (const auto errors = validate_config(cfg); !errors.empty())
    for (const auto& d : errors)
      if (d.is_error) throw Error("config: " + d.message);

  const Encoded train_set = encode(train_data, tok, o.max_seq_len, task, outputs);
  const Encoded eval_set = o.eval_file.empty() ? Encoded{} : encode(eval_data, tok, o.max_seq_len, task, outputs);

  TrainableModel model(cfg, initial_parameters(cfg, o, log));
  if (o.recompute) model.set_recompute(*o.recompute);
  AdamWOptions ao;
  ao.weight_decay = o.weight_decay;
  AdamW opt(model, ao);

  const int64_t n = static_cast<int64_t>(train_set.encs.size());
  const int64_t micro_per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const int64_t steps_per_epoch = (micro_per_epoch + o.grad_accum - 1) / o.grad_accum;
  int64_t total_steps = steps_per_epoch * o.epochs;
  if (o.max_steps > 0) total_steps = std::min(total_steps, o.max_steps);
  const auto warmup = static_cast<int64_t>(std::ceil(o.warmup_ratio * static_cast<double>(steps_per_epoch * o.epochs)));

  fs::create_directories(o.out);
  const json fp = fingerprint(o, model.parameter_storage().numel(), n, static_cast<int64_t>(eval_set.encs.size()));
  History hist;
  int64_t step = 0;
  if (o.resume) {
    step = load_state(o, model, opt, hist, fp);
    log("resumed from " + state_file(o).string() + " at step " + std::to_string(step));
  }
  save_model(o, model, tok);   // a loadable folder from the start; replaced by the best epoch

  for (int epoch = static_cast<int>(step / steps_per_epoch) + 1; epoch <= o.epochs && step < total_steps; ++epoch) {
    const std::vector<int64_t> order = epoch_order(n, o.seed, epoch);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t loss_count = 0, tokens = 0;
    const int64_t first_step = static_cast<int64_t>(epoch - 1) * steps_per_epoch;
    for (int64_t s = step - first_step; s < steps_per_epoch && step < total_steps; ++s) {
      model.zero_grad();
      double step_loss = 0;
      int64_t micros = 0;
      for (int64_t k = 0; k < o.grad_accum; ++k) {
        const int64_t micro = s * o.grad_accum + k;
        if (micro >= micro_per_epoch) break;
        const int64_t begin = micro * o.batch_size, end = std::min(n, begin + o.batch_size);
        const Slice sl = make_slice(train_set, order, begin, end, cfg);
        StepOptions so;
        so.seed = o.seed;
        so.micro_step = static_cast<uint64_t>(step) * static_cast<uint64_t>(o.grad_accum) + static_cast<uint64_t>(k);
        so.loss_scale = 1.0f / static_cast<float>(o.grad_accum);
        step_loss += model.forward_backward(sl.batch, sl.targets, so).loss;
        tokens += sl.batch.tokens();
        ++micros;
      }
      if (!std::isfinite(step_loss))
        throw Error("the loss became " + std::to_string(step_loss) + " at step " + std::to_string(step + 1) +
                    " (learning rate too high?)");
      clip_grad_norm(model, o.max_grad_norm);
      opt.step(o.lr * schedule_factor(schedule, step, warmup, steps_per_epoch * o.epochs));
      ++step;
      hist.step_loss.emplace_back(step, step_loss / static_cast<double>(micros));
      loss_sum += step_loss / static_cast<double>(micros);
      ++loss_count;
      if (o.progress) {
        const double secs = seconds_since(t0);   // ETA from this process's pace in this epoch
        show_progress(epoch, o.epochs, s + 1, steps_per_epoch, loss_sum / loss_count, tokens / std::max(secs, 1e-9),
                      secs / loss_count * static_cast<double>(steps_per_epoch - s - 1));
      }
      if (o.save_steps > 0 && step % o.save_steps == 0 && s + 1 < steps_per_epoch) save_state(o, model, opt, step, hist, fp);
    }
    if (o.progress) std::fprintf(stderr, "\n");
    const double secs = seconds_since(t0);
    if (step < first_step + steps_per_epoch) {   // --max-steps inside an epoch: no eval, resumable
      save_model(o, model, tok);
      save_state(o, model, opt, step, hist, fp);
      log("stopped at step " + std::to_string(step) + " of " + std::to_string(steps_per_epoch * o.epochs) +
          " (--max-steps); --resume continues");
      break;
    }

    json line = {{"epoch", epoch}, {"step", step}, {"train_loss", loss_count ? loss_sum / loss_count : NAN},
                 {"seconds", secs}, {"tokens_per_s", tokens / std::max(secs, 1e-9)},
                 {"lr", o.lr * schedule_factor(schedule, std::max<int64_t>(step - 1, 0), warmup, steps_per_epoch * o.epochs)},
                 {"peak_activation_mb", static_cast<double>(model.peak_activation_bytes()) / (1 << 20)},
                 {"recompute", model.recompute()}};
    bool improved = true;
    std::string report_text, report_json;
    if (!eval_set.encs.empty()) {
      const EvalResult r = evaluate(model, eval_set, task, cfg.id2label, std::max<int64_t>(o.batch_size, 32));
      line["eval_loss"] = r.loss;
      line["eval_accuracy"] = std::isnan(r.accuracy) ? json() : json(r.accuracy);
      line["eval_macro_f1"] = std::isnan(r.macro_f1) ? json() : json(r.macro_f1);
      if (task == TaskType::TokenClassification) {
        line["eval_entity_precision"] = r.entity_precision;
        line["eval_entity_recall"] = r.entity_recall;
        line["eval_entity_f1"] = r.entity_f1;
      }
      improved = r.score > hist.best_score;
      report_text = r.report_text;
      report_json = r.report_json;
      if (improved) hist.best_score = r.score;
    }
    if (improved) {
      hist.best_epoch = epoch;
      hist.bad_epochs = 0;
      save_model(o, model, tok);
      if (!report_text.empty()) {
        write_file_atomic(o.out / "eval_report.txt", "best epoch " + std::to_string(epoch) + "\n\n" + report_text);
        write_file_atomic(o.out / "eval_report.json", report_json + "\n");
      }
    } else {
      ++hist.bad_epochs;
    }
    line["best_epoch"] = hist.best_epoch;
    hist.epochs.push_back(line);
    epoch_json(line.dump());

    std::string lines;
    for (const auto& e : hist.epochs) lines += e.dump() + "\n";
    write_file_atomic(o.out / "metrics.jsonl", lines);
    write_file_atomic(o.out / "training_curves.svg", training_curves_svg(curves_of(hist, o)));
    save_state(o, model, opt, step, hist, fp);
    if (o.early_stop_patience > 0 && hist.bad_epochs >= o.early_stop_patience) {
      log("early stop: no improvement for " + std::to_string(hist.bad_epochs) + " epochs (best: epoch " +
          std::to_string(hist.best_epoch) + ")");
      break;
    }
  }
}

}  // namespace ernie

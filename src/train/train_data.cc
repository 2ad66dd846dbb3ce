// ernie train's data side: tokenizer, classifier config, initial weights, encoded datasets,
// the per-epoch order and the slices a step trains on.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/model.h"
#include "ernie/params.h"
#include "ernie/rng.h"
#include "train/loop.h"

namespace ernie::train {

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
  cfg.id2label = task == TaskType::Regression ? numbered_labels(regression_outputs) : labels.names();
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

int64_t loss_weight(const Encoded& e, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  if (e.token_labels.empty()) return end - begin;
  int64_t tagged = 0;
  for (int64_t i = begin; i < end; ++i)
    tagged += std::count_if(e.token_labels[order[i]].begin(), e.token_labels[order[i]].end(),
                            [](int32_t l) { return l != -100; });
  return tagged;
}

int64_t token_count(const Encoded& e, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  int64_t tokens = 0;
  for (int64_t i = begin; i < end; ++i) tokens += static_cast<int64_t>(e.encs[order[i]].size());
  return tokens;
}

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

}  // namespace ernie::train

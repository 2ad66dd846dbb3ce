// ernie pretrain's loop: corpus lines streamed through a shuffle buffer, masked per (seed, epoch,
// example), packed, TrainableModel's MLM (+ NSP/SOP) step, AdamW, evaluation on held-out lines,
// atomic checkpoints with --resume, and a model folder that transformers loads.
#include "ernie/pretrainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ernie/atomic_file.h"
#include "ernie/error.h"
#include "ernie/masking.h"
#include "ernie/model.h"
#include "ernie/optimizer.h"
#include "ernie/rng.h"
#include "ernie/safetensors.h"
#include "train/loop.h"

namespace ernie {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// One training example: a text, or a pair of consecutive lines (NSP/SOP) with its label.
struct CorpusExample {
  std::string a, b;
  bool pair = false;
  int32_t sentence_label = 0;
  std::vector<std::pair<int64_t, int64_t>> spans;   // knowledge masking: entity spans of `a`
  std::vector<int32_t> continuations;               // --ref-file: tokens that continue a word
  uint64_t index = 0;                               // global example number (masking stream)
};

// Reads the corpus files line by line (a blank line ends a document) and yields examples; with
// NSP/SOP, consecutive lines of one document form pairs. Held-out lines (eval_fraction) are
// skipped here and collected by the evaluation reader.
class Corpus {
 public:
  Corpus(const PretrainOptions& o, std::vector<fs::path> files, bool held_out) : o_(o), files_(std::move(files)), held_(held_out) {}

  // Calls f(example) for every example, in corpus order, until f returns false.
  template <class F>
  void each(F&& f) const {
    uint64_t line_no = 0, example = 0;
    std::ifstream spans, refs;
    if (!o_.spans.empty() && !held_) {
      spans.open(o_.spans);
      if (!spans) throw Error("cannot read --spans " + o_.spans.string());
    }
    if (!o_.ref_file.empty() && !held_) {
      refs.open(o_.ref_file);
      if (!refs) throw Error("cannot read --ref-file " + o_.ref_file.string());
    }
    std::string prev;
    bool have_prev = false;
    for (const auto& file : files_) {
      std::ifstream in(file, std::ios::binary);
      if (!in) throw Error("cannot read corpus " + file.string());
      for (std::string line; std::getline(in, line); ++line_no) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string span_line, ref_line;
        if (spans.is_open()) std::getline(spans, span_line);
        if (refs.is_open()) std::getline(refs, ref_line);
        if (line.empty()) {   // a document ends
          have_prev = false;
          continue;
        }
        if (!keep(line_no)) continue;
        if (o_.nsp || o_.sop) {
          if (have_prev) {
            CorpusExample e;
            e.a = prev;
            e.b = line;
            e.pair = true;
            e.index = example++;
            if (!f(std::move(e))) return;
          }
          prev = line;
          have_prev = true;
          continue;
        }
        CorpusExample e;
        e.a = std::move(line);
        e.index = example++;
        if (!span_line.empty()) e.spans = parse_spans(span_line, line_no);
        if (!ref_line.empty()) e.continuations = parse_refs(ref_line, line_no);
        if (!f(std::move(e))) return;
      }
      have_prev = false;   // documents do not cross files
    }
  }

 private:
  // A line is held out for evaluation when its hashed number falls under eval_fraction.
  bool keep(uint64_t line_no) const {
    if (o_.eval_fraction <= 0 || !o_.eval_corpus.empty()) return !held_;
    const bool eval = CounterRng(0x5eed, 0).uniform(line_no) < o_.eval_fraction;
    return eval == held_;
  }
  static std::vector<std::pair<int64_t, int64_t>> parse_spans(const std::string& line, uint64_t line_no) {
    std::vector<std::pair<int64_t, int64_t>> out;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("spans") || !j["spans"].is_array())
      throw Error("--spans line " + std::to_string(line_no + 1) + ": expected {\"spans\": [[start, end], ...]}");
    for (const auto& s : j["spans"]) {
      if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer())
        throw Error("--spans line " + std::to_string(line_no + 1) + ": a span is [start, end) in characters");
      out.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
    }
    return out;
  }
  static std::vector<int32_t> parse_refs(const std::string& line, uint64_t line_no) {
    const json j = json::parse(line, nullptr, false);
    std::vector<int32_t> out;
    if (j.is_discarded() || !j.is_array())
      throw Error("--ref-file line " + std::to_string(line_no + 1) + ": expected a JSON list of token indices");
    for (const auto& v : j) {
      if (!v.is_number_integer()) throw Error("--ref-file line " + std::to_string(line_no + 1) + ": indices are integers");
      out.push_back(v.get<int32_t>());
    }
    return out;
  }
  const PretrainOptions& o_;
  std::vector<fs::path> files_;
  bool held_;
};

struct Prepared {
  std::vector<Encoding> encs;
  Targets targets;
};

// Tokenizes, masks and labels a batch of examples.
class Preparer {
 public:
  Preparer(const PretrainOptions& o, const Tokenizer& tok, const Config& cfg) : o_(o), tok_(tok), cfg_(cfg) {
    mask_.kind = parse_masking(o.masking);
    mask_.mlm_probability = o.mlm_probability;
    mask_.seed = o.seed;
    if (mask_.kind != MaskingKind::Token && o.segment)
      seg_ = std::make_unique<Segmenter>(o.dict.empty() ? Segmenter::from_jieba_default() : Segmenter::from_file(o.dict));
  }
  Prepared prepare(std::vector<CorpusExample>& batch, uint64_t epoch, uint64_t stream_salt) const {
    Prepared p;
    EncodeOptions eo;
    eo.max_length = static_cast<size_t>(o_.max_seq_len);
    eo.utf8_errors = Utf8Errors::Replace;   // a corpus is data, not input to refuse
    for (auto& ex : batch) {
      // NSP: half the pairs get a random other line as B (label 1); SOP: half are swapped (label 1).
      const CounterRng rng(o_.seed ^ stream_salt, (epoch << 40) ^ ex.index);
      if (ex.pair && o_.sop && rng.uniform(0) < 0.5f) {
        std::swap(ex.a, ex.b);
        ex.sentence_label = 1;
      } else if (ex.pair && o_.nsp && rng.uniform(0) < 0.5f && batch.size() > 1) {
        const size_t other = static_cast<size_t>(rng.uniform(1) * static_cast<float>(batch.size())) % batch.size();
        if (batch[other].index != ex.index) {
          ex.b = batch[other].b;
          ex.sentence_label = 1;
        }
      }
      Encoding e = ex.pair ? tok_.encode_pair(ex.a, ex.b, eo) : tok_.encode(ex.a, eo);
      if (cfg_.type_vocab_size == 1) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
      // Units read offsets of the first text only: pairs mask token by token and by ## words.
      const auto units = masking_units(tok_, e, ex.pair ? std::string_view() : std::string_view(ex.a), mask_.kind,
                                       ex.pair ? nullptr : seg_.get(), ex.spans, ex.continuations);
      const auto labels = mask_encoding(tok_, e, units, mask_, epoch, ex.index ^ stream_salt);
      p.targets.labels.insert(p.targets.labels.end(), labels.begin(), labels.end());
      if (ex.pair) p.targets.sentence_labels.push_back(ex.sentence_label);
      p.encs.push_back(std::move(e));
    }
    return p;
  }

 private:
  const PretrainOptions& o_;
  const Tokenizer& tok_;
  const Config& cfg_;
  MaskingOptions mask_;
  std::unique_ptr<Segmenter> seg_;
};

struct EvalStats {
  double loss = 0, accuracy = 0, sentence_accuracy = NAN;
  int64_t masked = 0;
};

EvalStats evaluate(TrainableModel& model, const Preparer& prep, const std::vector<CorpusExample>& eval_set, int64_t batch) {
  EvalStats s;
  double loss_sum = 0, correct = 0, sent_correct = 0, sent_total = 0;
  const Config& cfg = model.config();
  for (size_t first = 0; first < eval_set.size(); first += static_cast<size_t>(batch)) {
    std::vector<CorpusExample> b(eval_set.begin() + static_cast<std::ptrdiff_t>(first),
                           eval_set.begin() + static_cast<std::ptrdiff_t>(std::min(eval_set.size(), first + batch)));
    // The same masks at every evaluation (epoch 0, a fixed salt): comparable numbers.
    Prepared p = prep.prepare(b, 0, 0xe7a1);
    const Batch packed = pack_encodings(p.encs, cfg);
    const StepResult r = model.evaluate(packed, p.targets);
    int64_t k = 0;
    const int64_t V = cfg.vocab_size;
    for (int32_t l : p.targets.labels) {
      if (l == -100) continue;
      const float* z = r.logits.data<float>() + k * V;
      correct += std::max_element(z, z + V) - z == l;
      ++k;
    }
    const double mlm_loss = r.loss - r.sentence_loss;
    loss_sum += mlm_loss * static_cast<double>(k);
    s.masked += k;
    if (r.sentence_logits.defined()) {
      for (size_t i = 0; i < p.targets.sentence_labels.size(); ++i) {
        const float* z = r.sentence_logits.data<float>() + 2 * i;
        sent_correct += (z[1] > z[0]) == (p.targets.sentence_labels[i] == 1);
        ++sent_total;
      }
    }
  }
  if (s.masked > 0) {
    s.loss = loss_sum / static_cast<double>(s.masked);
    s.accuracy = correct / static_cast<double>(s.masked);
  }
  if (sent_total > 0) s.sentence_accuracy = sent_correct / sent_total;
  return s;
}

Config pretraining_config(Config cfg, const PretrainOptions& o) {
  const bool sentence = o.nsp || o.sop;
  if (o.nsp && o.sop) throw Error("--nsp and --sop are exclusive");
  if (sentence && cfg.model_type == ModelType::Roberta) throw Error("RoBERTa has no pre-training head: drop --nsp/--sop");
  cfg.architectures = {std::string(class_prefix(cfg.model_type)) + (sentence ? "ForPreTraining" : "ForMaskedLM")};
  cfg.id2label = {"LABEL_0", "LABEL_1"};   // transformers' default num_labels (unused by the LM heads)
  cfg.labels_given = false;
  cfg.problem_type.clear();
  return cfg;
}

fs::path state_path(const PretrainOptions& o) { return o.out / "pretrain_state.safetensors"; }

void save_state(const PretrainOptions& o, TrainableModel& model, AdamW& opt, const json& meta) {
  std::map<std::string, Tensor> t = {{"params", model.parameter_storage()},
                                     {"adam_m", opt.first_moment()},
                                     {"adam_v", opt.second_moment()}};
  write_safetensors(state_path(o), t, {{"format", "pt"}, {"state", meta.dump()}});
}

}  // namespace

void run_pretraining(const PretrainOptions& o, const std::function<void(const std::string&)>& json_line,
                     const std::function<void(const std::string&)>& log) {
  if (o.out.empty()) throw Error("--out is required");
  if (o.corpus.empty()) throw Error("--corpus is required (one or more text files)");
  if (o.config.empty() == o.init_from.empty()) throw Error("give exactly one of --config and --init-from");
  if (o.batch_size < 1 || o.grad_accum < 1 || o.epochs < 1 || o.max_seq_len < 4)
    throw Error("--batch-size, --grad-accum and --epochs must be positive and --max-seq-len at least 4");
  if (!(o.mlm_probability > 0 && o.mlm_probability < 1)) throw Error("--mlm-probability must be in (0, 1)");
  if (o.threads > 0) omp_set_num_threads(o.threads);
  // The shared pieces of ernie train: tokenizer and initial weights.
  TrainOptions t;
  t.config = o.config;
  t.init_from = o.init_from;
  t.vocab = o.vocab;
  t.lowercase = o.lowercase;
  t.seed = o.seed;
  const Tokenizer tok = train::load_tokenizer(t);
  const Config base = o.config.empty() ? Model::load(o.init_from).config() : load_config(o.config);
  const Config cfg = pretraining_config(base, o);
  if (tok.vocab().size() > static_cast<size_t>(cfg.vocab_size))
    throw Error("the vocabulary has " + std::to_string(tok.vocab().size()) + " tokens but the config's vocab_size is " +
                std::to_string(cfg.vocab_size));
  if (o.max_seq_len > cfg.max_sequence_length())
    throw Error("--max-seq-len " + std::to_string(o.max_seq_len) + " exceeds the model's longest input (" +
                std::to_string(cfg.max_sequence_length()) + ")");
  fs::create_directories(o.out);
  TrainableModel model(cfg, train::initial_parameters(cfg, t, log));
  if (o.recompute) model.set_recompute(*o.recompute);
  AdamWOptions ao;
  ao.weight_decay = o.weight_decay;
  if (o.optimizer != "adamw" && o.optimizer != "lamb") throw Error("--optimizer must be adamw or lamb, not '" + o.optimizer + "'");
  ao.lamb = o.optimizer == "lamb";
  AdamW opt(model, ao);
  const Preparer prep(o, tok, cfg);

  // Held-out examples (in memory, at most eval_max_examples).
  std::vector<CorpusExample> eval_set;
  if (!o.eval_corpus.empty() || o.eval_fraction > 0) {
    const Corpus held(o, o.eval_corpus.empty() ? o.corpus : std::vector<fs::path>{o.eval_corpus}, o.eval_corpus.empty());
    held.each([&](CorpusExample&& e) {
      eval_set.push_back(std::move(e));
      return static_cast<int64_t>(eval_set.size()) < o.eval_max_examples;
    });
  }
  const Corpus train_corpus(o, o.corpus, false);
  int64_t examples = 0;
  train_corpus.each([&](CorpusExample&&) { return ++examples > 0; });
  if (examples == 0) throw Error("the corpus holds no training example (non-empty lines; pairs need two per document)");
  const int64_t per_step = o.batch_size * o.grad_accum;
  const int64_t steps_per_epoch = (examples + per_step - 1) / per_step;
  const int64_t total = o.max_steps > 0 ? std::min<int64_t>(o.max_steps, steps_per_epoch * o.epochs) : steps_per_epoch * o.epochs;
  const Schedule schedule = parse_schedule(o.schedule);
  const int64_t warmup = static_cast<int64_t>(std::llround(o.warmup_ratio * static_cast<double>(total)));
  log("pretrain: " + std::to_string(examples) + " examples, " + std::to_string(eval_set.size()) + " held out, " +
      std::to_string(total) + " steps of " + std::to_string(per_step) + " (" + cfg.class_name() + ", masking " +
      o.masking + ")");

  const json fingerprint = {{"examples", examples}, {"batch", per_step}, {"seed", o.seed}, {"masking", o.masking},
                            {"optimizer", o.optimizer},
                            {"max_seq_len", o.max_seq_len}, {"params", model.parameter_storage().numel()}};
  int64_t step = 0, skip_batches = 0;
  int start_epoch = 0;
  if (o.resume && fs::exists(state_path(o))) {
    const TensorFile st = read_safetensors(state_path(o));
    const json meta = json::parse(st.metadata.at("state"));
    if (meta.at("fingerprint") != fingerprint)
      throw Error(state_path(o).string() + " was written by a run with other data or settings; drop --resume");
    auto load = [&](const char* name, Tensor& dst) {
      const Tensor& src = st.tensors.at(name);
      if (src.numel() != dst.numel()) throw Error(state_path(o).string() + ": " + name + " has the wrong size");
      std::memcpy(dst.raw(), src.raw(), dst.nbytes());
    };
    load("params", model.parameter_storage());
    load("adam_m", opt.first_moment());
    load("adam_v", opt.second_moment());
    step = meta.at("step").get<int64_t>();
    opt.set_steps(step);
    start_epoch = static_cast<int>(step / steps_per_epoch);
    skip_batches = (step % steps_per_epoch) * o.grad_accum;
    log("resumed at step " + std::to_string(step) + " (epoch " + std::to_string(start_epoch + 1) + ")");
  }

  std::ofstream metrics(o.out / "metrics.jsonl", std::ios::app);
  auto emit = [&](json j) {
    const std::string line = j.dump();
    json_line(line);
    metrics << line << '\n';
    metrics.flush();
  };
  auto save_model_folder = [&] {
    save_config(model.config(), o.out / "config.json");
    write_safetensors(o.out / "model.safetensors", model.parameters());
    tok.save(o.out);
  };
  const auto t0 = std::chrono::steady_clock::now();
  int64_t tokens = 0, micro = step * o.grad_accum;   // dropout masks continue where the run stopped
  // pretraining_curves.svg: the loss of every step and the held-out MLM loss and accuracy per epoch
  // (of this run: a resumed run starts its curves at the step it resumed from).
  TrainingCurves curves;
  curves.title = "ernie pretrain";
  curves.subtitle = "model " + o.out.string() + " · " + cfg.class_name() + " · masking " + o.masking;
  curves.accuracy_title = "masked-token accuracy";
  double step_loss_sum = 0, epoch_loss_sum = 0;
  int64_t epoch_steps = 0;
  double loss_acc = 0;
  int64_t loss_n = 0;
  bool done = step >= total;
  for (int epoch = start_epoch; epoch < o.epochs && !done; ++epoch) {
    // A shuffle buffer: shuffle_buffer examples at a time, in an order fixed by (seed, epoch, chunk).
    std::vector<CorpusExample> buffer;
    int64_t chunk = 0, batch_no = 0;
    auto run_buffer = [&] {
      const auto order = train::epoch_order(static_cast<int64_t>(buffer.size()), o.seed ^ (static_cast<uint64_t>(chunk) << 20), epoch);
      for (size_t first = 0; first < order.size() && !done; first += static_cast<size_t>(o.batch_size), ++batch_no) {
        if (batch_no < skip_batches) continue;   // resumed mid-epoch: the batches already trained
        std::vector<CorpusExample> batch;
        for (size_t k = first; k < std::min(order.size(), first + static_cast<size_t>(o.batch_size)); ++k)
          batch.push_back(buffer[static_cast<size_t>(order[k])]);
        Prepared p = prep.prepare(batch, static_cast<uint64_t>(epoch), 0);
        const Batch packed = pack_encodings(p.encs, cfg);
        StepOptions so;
        so.seed = o.seed;
        so.micro_step = static_cast<uint64_t>(micro++);
        so.loss_scale = 1.0f / static_cast<float>(o.grad_accum);
        const StepResult r = model.forward_backward(packed, p.targets, so);
        loss_acc += r.loss;
        step_loss_sum += r.loss;
        ++loss_n;
        tokens += packed.tokens();
        if (micro % o.grad_accum != 0) continue;
        clip_grad_norm(model, o.max_grad_norm);
        opt.step(o.lr * schedule_factor(schedule, step, warmup, total, o.power, o.lr_end / o.lr));
        model.zero_grad();
        ++step;
        curves.step_loss.emplace_back(step, step_loss_sum / o.grad_accum);
        epoch_loss_sum += step_loss_sum / o.grad_accum;
        ++epoch_steps;
        step_loss_sum = 0;
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (o.progress)
          std::fprintf(stderr, "\rpretrain: step %lld/%lld  loss %.4f  %.0f tok/s   ", static_cast<long long>(step),
                       static_cast<long long>(total), loss_acc / std::max<int64_t>(1, loss_n), tokens / std::max(secs, 1e-9));
        if (o.log_steps > 0 && step % o.log_steps == 0) {
          emit({{"step", step}, {"epoch", epoch + 1}, {"train_loss", loss_acc / std::max<int64_t>(1, loss_n)},
                {"lr", o.lr * schedule_factor(schedule, step, warmup, total, o.power, o.lr_end / o.lr)},
                {"tokens_per_s", tokens / std::max(secs, 1e-9)}});
          loss_acc = 0;
          loss_n = 0;
        }
        if (o.save_steps > 0 && step % o.save_steps == 0) {
          save_state(o, model, opt, {{"step", step}, {"fingerprint", fingerprint}});
          save_model_folder();
        }
        if (step >= total || (o.stop_at_step > 0 && step >= o.stop_at_step)) done = true;
      }
      buffer.clear();
      ++chunk;
    };
    train_corpus.each([&](CorpusExample&& e) {
      buffer.push_back(std::move(e));
      if (static_cast<int64_t>(buffer.size()) >= o.shuffle_buffer) run_buffer();
      return !done;   // the schedule ended: stop reading
    });
    if (!buffer.empty() && !done) run_buffer();
    skip_batches = 0;
    json j = {{"epoch", epoch + 1}, {"step", step}};
    EpochPoint point;
    point.epoch = epoch + 1;
    point.step = step;
    if (epoch_steps > 0) point.train_loss = epoch_loss_sum / static_cast<double>(epoch_steps);
    epoch_loss_sum = 0;
    epoch_steps = 0;
    if (!eval_set.empty()) {
      const EvalStats s = evaluate(model, prep, eval_set, o.batch_size);
      j["eval_mlm_loss"] = s.loss;
      j["eval_mlm_accuracy"] = s.accuracy;
      j["eval_perplexity"] = std::exp(s.loss);
      j["eval_masked_tokens"] = s.masked;
      if (!std::isnan(s.sentence_accuracy)) j[o.sop ? "eval_sop_accuracy" : "eval_nsp_accuracy"] = s.sentence_accuracy;
      point.eval_loss = s.loss;
      point.eval_accuracy = s.accuracy;
    }
    curves.epochs.push_back(point);
    write_file_atomic(o.out / "pretraining_curves.svg", training_curves_svg(curves));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    j["tokens_per_s"] = tokens / std::max(secs, 1e-9);
    if (o.progress) std::fprintf(stderr, "\n");
    emit(j);
    save_state(o, model, opt, {{"step", step}, {"fingerprint", fingerprint}});
    save_model_folder();
  }
}

}  // namespace ernie

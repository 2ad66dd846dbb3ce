// ernie pretrain's loop: steps from the data stream (pretrain_data.h), TrainableModel's MLM
// (+ NSP/SOP) step, gradients summed over the ranks by dist::GradientReducer, AdamW/LAMB,
// evaluation on held-out examples, atomic checkpoints with --resume, and a model folder that
// transformers loads.
//
// Loss normalization (docs/DISTRIBUTED.md): the loss of a step is the mean over the masked tokens
// of every micro-batch of every rank (plus the mean sentence loss over its pairs). The ranks first
// sum their masked-token and pair counts; each micro-batch's loss is then scaled by its share of
// them, so the summed gradients are those of one process with the whole global batch.
#include "ernie/pretrainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "dist/reducer.h"
#include "ernie/atomic_file.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/optimizer.h"
#include "ernie/safetensors.h"
#include "train/loop.h"
#include "train/pretrain_data.h"

namespace ernie {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct EvalStats {
  double loss = 0, accuracy = 0, sentence_accuracy = NAN;
  int64_t masked = 0;
};

// Held-out examples in batches of 32 whatever --batch-size (the same NSP partners for any rank
// count); batch j is evaluated by rank j % ranks and the sums are added over the ranks.
EvalStats evaluate(TrainableModel& model, const pretrain::Preparer& prep, const std::vector<pretrain::Example>& eval_set,
                   MaskingKind kind, dist::Communicator& comm) {
  constexpr size_t kBatch = 32;
  double sums[5] = {0, 0, 0, 0, 0};   // masked-LM loss sum, correct, masked, sentences correct, sentences
  const Config& cfg = model.config();
  const int64_t V = cfg.vocab_size;
  for (size_t first = 0, j = 0; first < eval_set.size(); first += kBatch, ++j) {
    if (static_cast<int>(j % static_cast<size_t>(comm.size())) != comm.rank()) continue;
    const std::vector<pretrain::Example> b(eval_set.begin() + static_cast<std::ptrdiff_t>(first),
                                 eval_set.begin() + static_cast<std::ptrdiff_t>(std::min(eval_set.size(), first + kBatch)));
    // The same masks at every evaluation (epoch 0, a fixed salt): comparable numbers.
    const pretrain::Micro m = prep.prepare(b, 0, b.size(), 0, 0xe7a1, kind);
    const StepResult r = model.evaluate(m.batch, m.targets);
    int64_t k = 0;
    for (int32_t l : m.targets.labels) {
      if (l == -100) continue;
      const float* z = r.logits.data<float>() + k * V;
      sums[1] += std::max_element(z, z + V) - z == l;
      ++k;
    }
    sums[0] += (r.loss - r.sentence_loss) * static_cast<double>(k);
    sums[2] += static_cast<double>(k);
    if (r.sentence_logits.defined())
      for (size_t i = 0; i < m.targets.sentence_labels.size(); ++i) {
        const float* z = r.sentence_logits.data<float>() + 2 * i;
        sums[3] += (z[1] > z[0]) == (m.targets.sentence_labels[i] == 1);
        sums[4] += 1;
      }
  }
  comm.allreduce_sum(sums, 5);
  EvalStats s;
  s.masked = static_cast<int64_t>(sums[2]);
  if (sums[2] > 0) s.loss = sums[0] / sums[2], s.accuracy = sums[1] / sums[2];
  if (sums[4] > 0) s.sentence_accuracy = sums[3] / sums[4];
  return s;
}

Config pretraining_config(Config cfg, const PretrainOptions& o) {
  const bool sentence = o.nsp || o.sop;
  if (o.nsp && o.sop) throw Error("--nsp and --sop are exclusive");
  if (sentence && cfg.model_type == ModelType::Roberta) throw Error("RoBERTa has no pre-training head: drop --nsp/--sop");
  cfg.architectures = {std::string(class_prefix(cfg.model_type)) + (sentence ? "ForPreTraining" : "ForMaskedLM")};
  cfg.id2label = numbered_labels(kDefaultNumLabels);   // unused by the LM heads
  cfg.labels_given = false;
  cfg.problem_type.clear();
  return cfg;
}

fs::path state_path(const PretrainOptions& o) { return o.out / "pretrain_state.safetensors"; }

// What the example count depends on: the corpus files (path, size, modification time), the
// options that shape examples and the tokenizer (vocabulary hash, casing).
json counting_key(const PretrainOptions& o, const Tokenizer& tok) {
  uint64_t vocab = train::fnv1a(nullptr, 0);
  for (size_t i = 0; i < tok.vocab().size(); ++i) {
    const std::string line = tok.vocab().token(static_cast<int32_t>(i)) + "\n";
    vocab = train::fnv1a(line.data(), line.size(), vocab);
  }
  json corpus = json::array();
  for (const auto& f : o.corpus) {
    std::error_code e1, e2;
    const auto size = fs::file_size(f, e1);
    const auto mtime = fs::last_write_time(f, e2).time_since_epoch().count();
    corpus.push_back({fs::absolute(f).string(), e1 ? -1 : static_cast<int64_t>(size), e2 ? 0 : static_cast<int64_t>(mtime)});
  }
  return {{"corpus", corpus},          {"packing", o.packing},
          {"max_seq_len", o.max_seq_len}, {"pairs", o.nsp || o.sop},
          {"eval_fraction", o.eval_fraction}, {"eval_corpus", o.eval_corpus.string()},
          {"lowercase", tok.options().lowercase}, {"strip_accents", tok.options().strips_accents()},
          {"vocab", std::to_string(vocab)}};
}

void save_state(const PretrainOptions& o, TrainableModel& model, AdamW& opt, const json& meta) {
  std::map<std::string, Tensor> t = {{"params", model.parameter_storage()},
                                     {"adam_m", opt.first_moment()},
                                     {"adam_v", opt.second_moment()}};
  write_safetensors(state_path(o), t, {{"format", "pt"}, {"state", meta.dump()}});
}

void check_options(const PretrainOptions& o) {
  if (o.out.empty()) throw Error("--out is required");
  if (o.corpus.empty()) throw Error("--corpus is required (one or more text files)");
  if (o.config.empty() == o.init_from.empty()) throw Error("give exactly one of --config and --init-from");
  if (o.batch_size < 1 || o.grad_accum < 1 || o.epochs < 1 || o.max_seq_len < 4)
    throw Error("--batch-size, --grad-accum and --epochs must be positive and --max-seq-len at least 4");
  if (!(o.mlm_probability > 0 && o.mlm_probability < 1)) throw Error("--mlm-probability must be in (0, 1)");
  if (o.packing != "none" && o.packing != "full-sentences")
    throw Error("--packing must be none or full-sentences, not '" + o.packing + "'");
  if (o.prefetch < 0) throw Error("--prefetch must be 0 (no data thread) or more");
  if (o.shuffle_buffer < 1) throw Error("--shuffle-buffer must be positive");
  if (!(o.bucket_mb > 0)) throw Error("--bucket-mb must be positive");
  if (o.optimizer != "adamw" && o.optimizer != "lamb") throw Error("--optimizer must be adamw or lamb, not '" + o.optimizer + "'");
}

}  // namespace

void run_pretraining(const PretrainOptions& o, const std::function<void(const std::string&)>& json_line,
                     const std::function<void(const std::string&)>& log_out) {
  dist::Communicator& comm = o.comm ? *o.comm : dist::single_process();
  const bool root = comm.is_root();
  const auto log = [&](const std::string& s) { if (root) log_out(s); };   // rank 0 reports
  check_options(o);
  const pretrain::MaskingSchedule ms = pretrain::MaskingSchedule::parse(o.masking, o.masking_schedule);
  dist::set_threads(o.threads, comm);   // several ranks on one machine share its cores
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
  if (root) fs::create_directories(o.out);
  TrainableModel model(cfg, train::initial_parameters(cfg, t, log));
  if (o.recompute) model.set_recompute(*o.recompute);
  AdamWOptions ao;
  ao.weight_decay = o.weight_decay;
  ao.lamb = o.optimizer == "lamb";
  AdamW opt(model, ao);
  std::unique_ptr<Segmenter> seg;
  if (o.segment && (ms.uses(MaskingKind::WholeWord) || ms.uses(MaskingKind::Knowledge)))
    seg = std::make_unique<Segmenter>(o.dict.empty() ? Segmenter::from_jieba_default() : Segmenter::from_file(o.dict));
  const pretrain::Preparer prep(o, tok, cfg, seg.get());

  // Held-out examples (in memory, at most eval_max_examples), packed as the training ones.
  std::vector<pretrain::Example> eval_set;
  if (!o.eval_corpus.empty() || o.eval_fraction > 0) {
    pretrain::ExampleReader held(o, tok, ms, seg.get(), o.eval_corpus.empty() ? o.corpus : std::vector<fs::path>{o.eval_corpus},
                                 o.eval_corpus.empty());
    for (pretrain::Example e; static_cast<int64_t>(eval_set.size()) < o.eval_max_examples && held.next(e);)
      eval_set.push_back(std::move(e));
  }
  // The saved state of --resume, read once (its tensors are loaded further down).
  std::optional<TensorFile> saved;
  json saved_meta;
  if (o.resume && fs::exists(state_path(o))) {
    const std::string where = state_path(o).string();
    saved = read_safetensors(state_path(o));
    const auto meta = saved->metadata.find("state");
    if (meta != saved->metadata.end()) saved_meta = json::parse(meta->second, nullptr, false);
    if (!saved_meta.is_object() || !saved_meta.contains("fingerprint") || !saved_meta.contains("step") ||
        !saved_meta["step"].is_number_unsigned())
      throw Error(where + ": not a pretraining state (its 'state' metadata must be JSON with fingerprint and step)");
    for (const char* name : {"params", "adam_m", "adam_v"}) {
      const auto t = saved->tensors.find(name);
      if (t == saved->tensors.end() || t->second.dtype() != DType::F32)
        throw Error(where + ": tensor " + name + " is missing or not F32");
    }
  }
  // Counting tokenizes the whole corpus (with packing), so --resume reuses the count its checkpoint
  // was made with over the same corpus files and example options. A per-rank decision: a rank
  // whose copies differ counts again.
  const json counted_over = counting_key(o, tok);
  int64_t examples = -1;
  if (saved && saved_meta.value("counted_over", json()) == counted_over) {
    const json& f = saved_meta["fingerprint"];
    if (f.is_object() && f.contains("examples") && f["examples"].is_number_integer()) examples = f["examples"].get<int64_t>();
  }
  if (examples >= 0)
    log("pretrain: the checkpoint's count of the same corpus files is reused");
  else
    examples = pretrain::count_examples(o, tok);
  if (examples == 0) throw Error("the corpus holds no training example (non-empty lines; pairs need two per document)");
  const int64_t global = comm.size() * o.batch_size;   // examples per global micro-batch
  const int64_t micros_per_epoch = (examples + global - 1) / global;
  const int64_t steps_per_epoch = (micros_per_epoch + o.grad_accum - 1) / o.grad_accum;
  const int64_t total = o.max_steps > 0 ? std::min<int64_t>(o.max_steps, steps_per_epoch * o.epochs) : steps_per_epoch * o.epochs;
  const Schedule schedule = parse_schedule(o.schedule);
  const int64_t warmup = static_cast<int64_t>(std::llround(o.warmup_ratio * static_cast<double>(total)));
  log("pretrain: " + std::to_string(examples) + " examples (packing " + o.packing + "), " + std::to_string(eval_set.size()) +
      " held out, " + std::to_string(total) + " steps of " + std::to_string(global * o.grad_accum) + " (" +
      cfg.class_name() + ", masking " + ms.describe() + ")");
  if (comm.size() > 1)
    log("data parallel: " + comm.describe() + ", " + std::to_string(omp_get_max_threads()) + " threads per rank, " +
        std::to_string(o.batch_size) + " examples per rank and micro-batch");

  // The cursor is the global step: the stream is a function of (seed, epoch), so a resumed run
  // may use another rank count when ranks x batch_size stays the same.
  const json fingerprint = {{"examples", examples}, {"global_batch", global}, {"grad_accum", o.grad_accum},
                            {"seed", o.seed}, {"masking", ms.describe()}, {"packing", o.packing},
                            {"optimizer", o.optimizer}, {"max_seq_len", o.max_seq_len},
                            {"params", model.parameter_storage().numel()}};
  {
    const Tensor& p = model.parameter_storage();
    json settings = {{"lr", o.lr}, {"epochs", o.epochs}, {"max_steps", o.max_steps}, {"schedule", o.schedule},
                     {"warmup_ratio", o.warmup_ratio}, {"mlm_probability", o.mlm_probability},
                     {"shuffle_buffer", o.shuffle_buffer}, {"nsp", o.nsp}, {"sop", o.sop},
                     {"eval_examples", eval_set.size()}};
    settings.update(fingerprint);
    train::check_ranks_agree(comm, {{"settings", settings},
                                    {"initial model", std::to_string(train::fnv1a(p.raw(), p.nbytes()))}});
  }
  int64_t step = 0;
  if (saved) {
    const TensorFile& st = *saved;
    const json& meta = saved_meta;
    if (meta.at("fingerprint") != fingerprint)
      throw Error(state_path(o).string() + " was written by a run with other data or settings (or another ranks x " +
                  "--batch-size); drop --resume");
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
    log("resumed at step " + std::to_string(step) + " (epoch " + std::to_string(step / steps_per_epoch + 1) + ")");
  }

  // metrics.jsonl (rank 0): written once atomically with the lines a resumed run keeps (up to its
  // step), then appended to line by line; a line torn by a crash is skipped on the next resume.
  std::ofstream metrics;
  if (root) {
    std::string kept;
    if (o.resume && step > 0) {
      std::ifstream in(o.out / "metrics.jsonl");
      for (std::string l; std::getline(in, l);) {
        const json j = json::parse(l, nullptr, false);
        if (!j.is_discarded() && j.value("step", int64_t{0}) <= step) kept += l + "\n";
      }
    }
    write_file_atomic(o.out / "metrics.jsonl", kept);
    metrics.open(o.out / "metrics.jsonl", std::ios::app);
    if (!metrics) throw Error("cannot append to " + (o.out / "metrics.jsonl").string());
  }
  auto emit = [&](const json& j) {
    if (!root) return;
    const std::string line = j.dump();
    json_line(line);
    metrics << line << '\n' << std::flush;
  };
  auto save = [&] {
    save_state(o, model, opt, {{"step", step}, {"fingerprint", fingerprint}, {"counted_over", counted_over}});
    save_config(model.config(), o.out / "config.json");
    write_safetensors(o.out / "model.safetensors", model.parameters());
    tok.save(o.out);
  };

  std::vector<dist::Range> groups;
  for (const auto& [b, e] : model.gradient_groups()) groups.push_back({b, e});
  dist::GradientReducer reducer(comm, model.gradient_storage().data<float>(), groups,
                                static_cast<int64_t>(o.bucket_mb * (1 << 20)), /*overlap=*/true);
  pretrain::StreamSpec spec;
  spec.rank = comm.rank();
  spec.ranks = comm.size();
  spec.examples = examples;
  spec.steps_per_epoch = steps_per_epoch;
  spec.total = total;
  spec.start_step = step;
  pretrain::StepSource source(o, tok, prep, ms, seg.get(), spec);
  pretrain::Prefetcher data(source, o.prefetch);

  const auto t0 = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  // pretraining_curves.svg: the loss of every step and the held-out MLM loss and accuracy per epoch
  // (of this run: a resumed run starts its curves at the step it resumed from).
  TrainingCurves curves;
  curves.title = "ernie pretrain";
  curves.subtitle = "model " + o.out.string() + " · " + cfg.class_name() + " · masking " + ms.describe();
  curves.accuracy_title = "masked-token accuracy";
  double epoch_loss_sum = 0, log_loss_sum = 0;
  int64_t epoch_steps = 0, log_steps = 0;
  const int ranks = comm.size(), rank = comm.rank();
  bool done = step >= total;
  pretrain::StepData sd;
  while (!done && data.next(sd)) {
    const size_t A = sd.micros.size();
    // The step's masked tokens and pairs over every rank, and each rank's tokens per micro-batch
    // (where this rank's rows start in the global micro-batch: dropout masks are global).
    std::vector<int64_t> counts(2 + A * static_cast<size_t>(ranks), 0);
    for (size_t m = 0; m < A; ++m) {
      counts[0] += sd.micros[m].masked;
      counts[1] += sd.micros[m].sentences;
      counts[2 + m * ranks + rank] = sd.micros[m].tokens;
    }
    comm.allreduce_sum(counts.data(), static_cast<int64_t>(counts.size()));
    const double K = static_cast<double>(counts[0]), S = static_cast<double>(counts[1]);
    double parts[2] = {0, 0};   // this rank's part of the step's masked-LM and sentence losses
    for (size_t m = 0; m < A; ++m) {
      const pretrain::Micro& mb = sd.micros[m];
      for (int r = 0; r < ranks; ++r) tokens += counts[2 + m * ranks + r];
      if (mb.rows == 0) continue;   // a last micro-batch smaller than the ranks: reducer.finish() covers it
      StepOptions so;
      so.seed = o.seed;
      so.micro_step = static_cast<uint64_t>(sd.step) * static_cast<uint64_t>(o.grad_accum) + m;
      so.loss_scale = K > 0 ? static_cast<float>(static_cast<double>(mb.masked) / K) : 0.0f;
      so.sentence_loss_scale = S > 0 ? static_cast<float>(static_cast<double>(mb.sentences) / S) : 0.0f;
      so.first_row = mb.first_row;
      for (int r = 0; r < rank; ++r) so.first_token += counts[2 + m * ranks + r];
      if (m + 1 == A) so.on_gradients_ready = [&](size_t g) { reducer.ready(g); };
      const StepResult res = model.forward_backward(mb.batch, mb.targets, so);
      if (K > 0) parts[0] += (res.loss - res.sentence_loss) * static_cast<double>(mb.masked) / K;
      if (S > 0) parts[1] += res.sentence_loss * static_cast<double>(mb.sentences) / S;
    }
    reducer.finish();
    clip_grad_norm(model, o.max_grad_norm);
    comm.allreduce_sum(parts, 2);
    const double step_loss = parts[0] + parts[1];
    if (!std::isfinite(step_loss))
      throw Error("the loss became " + std::to_string(step_loss) + " at step " + std::to_string(step + 1) +
                  " (learning rate too high?)");
    opt.step(o.lr * schedule_factor(schedule, step, warmup, total, o.power, o.lr_end / o.lr));
    model.zero_grad();
    ++step;
    curves.step_loss.emplace_back(step, step_loss);
    epoch_loss_sum += step_loss, ++epoch_steps;
    log_loss_sum += step_loss, ++log_steps;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.progress && root)
      std::fprintf(stderr, "\rpretrain: step %lld/%lld  loss %.4f  %.0f tok/s   ", static_cast<long long>(step),
                   static_cast<long long>(total), log_loss_sum / std::max<int64_t>(1, log_steps), tokens / std::max(secs, 1e-9));
    if (o.log_steps > 0 && step % o.log_steps == 0) {
      emit({{"step", step}, {"epoch", sd.epoch + 1}, {"train_loss", log_loss_sum / std::max<int64_t>(1, log_steps)},
            {"lr", o.lr * schedule_factor(schedule, step, warmup, total, o.power, o.lr_end / o.lr)},
            {"tokens_per_s", tokens / std::max(secs, 1e-9)}});
      log_loss_sum = 0;
      log_steps = 0;
    }
    if (step >= total || (o.stop_at_step > 0 && step >= o.stop_at_step)) done = true;
    if (!sd.epoch_end && !done) {
      if (o.save_steps > 0 && step % o.save_steps == 0 && root) save();
      continue;
    }
    // The end of an epoch (or of this job): evaluation, a JSON line, a checkpoint.
    json j = {{"epoch", sd.epoch + 1}, {"step", step}};
    if (ranks > 1) j["ranks"] = ranks;
    EpochPoint point;
    point.epoch = sd.epoch + 1;
    point.step = step;
    if (epoch_steps > 0) point.train_loss = epoch_loss_sum / static_cast<double>(epoch_steps);
    epoch_loss_sum = 0;
    epoch_steps = 0;
    if (!eval_set.empty()) {
      // The last stage's masking: the objective the run ends with, the same at every evaluation.
      const EvalStats s = evaluate(model, prep, eval_set, ms.stages.back().first, comm);
      j["eval_mlm_loss"] = s.loss;
      j["eval_mlm_accuracy"] = s.accuracy;
      j["eval_perplexity"] = std::exp(s.loss);
      j["eval_masked_tokens"] = s.masked;
      if (!std::isnan(s.sentence_accuracy)) j[o.sop ? "eval_sop_accuracy" : "eval_nsp_accuracy"] = s.sentence_accuracy;
      point.eval_loss = s.loss;
      point.eval_accuracy = s.accuracy;
    }
    curves.epochs.push_back(point);
    j["tokens_per_s"] = tokens / std::max(secs, 1e-9);
    if (o.progress && root) std::fprintf(stderr, "\n");
    emit(j);
    if (root) {
      write_file_atomic(o.out / "pretraining_curves.svg", training_curves_svg(curves));
      save();
    }
  }
  comm.barrier();   // rank 0's files are complete when any rank returns
}

}  // namespace ernie

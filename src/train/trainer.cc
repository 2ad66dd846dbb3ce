// The fine-tuning loop behind `ernie train` (see ernie/trainer.h), on one process or data-parallel
// over the ranks of a dist::Communicator.
//
// Determinism: the data order of epoch e is a permutation drawn from (seed, e); dropout masks
// from (seed, micro-step, site, global element); every reduction has a fixed order. So a run is a
// pure function of its inputs and seed, and --resume from any checkpoint reaches the same
// weights as an uninterrupted run. Data parallel: each rank takes a contiguous share of every
// micro-batch and scales its loss by its share of the batch's weight (rows, or tagged tokens), so
// the summed gradients are the whole batch's; only the order of floating-point sums differs from
// one process.
#include "ernie/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "dist/reducer.h"
#include "ernie/atomic_file.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/params.h"
#include "train/loop.h"

namespace ernie {

using namespace train;

namespace {

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

uint64_t hash_encoded(const Encoded& e) {
  uint64_t h = fnv1a(e.labels.data(), e.labels.size() * sizeof(int32_t));
  h = fnv1a(e.targets.data(), e.targets.size() * sizeof(float), h);
  for (const Encoding& enc : e.encs) h = fnv1a(enc.ids.data(), enc.ids.size() * sizeof(enc.ids[0]), h);
  for (const auto& t : e.token_labels) h = fnv1a(t.data(), t.size() * sizeof(int32_t), h);
  return h;
}

// Ranks that would train different things are refused before any work.
void check_ranks_agree(dist::Communicator& comm, const json& settings, const Encoded& train_set,
                       const Encoded& eval_set, const TrainableModel& model) {
  if (comm.size() == 1) return;
  const Tensor& p = model.parameter_storage();
  train::check_ranks_agree(comm, {{"settings", settings},
                                  {"training data", std::to_string(hash_encoded(train_set))},
                                  {"evaluation data", std::to_string(hash_encoded(eval_set))},
                                  {"initial model", std::to_string(fnv1a(p.raw(), p.nbytes()))}});
}

}  // namespace

void run_training(const TrainOptions& o, const std::function<void(const std::string&)>& epoch_json_out,
                  const Log& log_out) {
  dist::Communicator& comm = o.comm ? *o.comm : dist::single_process();
  const bool root = comm.is_root();
  // Logs, metrics and files come from rank 0 only.
  const Log log = [&](const std::string& s) { if (root) log_out(s); };
  const Log epoch_json = [&](const std::string& s) { if (root) epoch_json_out(s); };
  if (o.config.empty() == o.init_from.empty()) throw Error("give exactly one of --config and --init-from");
  if (o.out.empty()) throw Error("--out is required");
  if (o.epochs < 1 || o.batch_size < 1 || o.grad_accum < 1 || o.max_seq_len < 3)
    throw Error("--epochs, --batch-size and --grad-accum must be positive and --max-seq-len at least 3");
  if (!(o.lr > 0) || o.warmup_ratio < 0 || o.warmup_ratio > 1 || o.weight_decay < 0)
    throw Error("--lr must be positive, --warmup-ratio in [0, 1], --weight-decay non-negative");
  if (o.dropout && !(*o.dropout >= 0 && *o.dropout < 1)) throw Error("--dropout must be in [0, 1)");
  if (!(o.bucket_mb > 0)) throw Error("--bucket-mb must be positive");
  if (o.sparse_embedding_grads != "auto" && o.sparse_embedding_grads != "on" && o.sparse_embedding_grads != "off")
    throw Error("--sparse-embedding-grads must be auto, on or off");
  dist::set_threads(o.threads, comm);   // several ranks on one machine share its cores
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
    if (std::all_of(labels.names().begin(), labels.names().end(), [&](const std::string& n) { return old.index_of(n) >= 0; })) {
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
  const int64_t total_params = model.parameter_storage().numel();
  // --shard-optimizer: this rank updates only its share of the parameters (ZeRO stage 1).
  const dist::Range shard = o.shard_optimizer ? dist::share(total_params, comm.rank(), comm.size())
                                              : dist::Range{0, total_params};
  AdamWOptions ao;
  ao.weight_decay = o.weight_decay;
  AdamW opt(model, ao, shard);
  // Unsharded: buckets allreduced during backward. Sharded: one reduce-scatter after it.
  std::vector<dist::Range> groups;
  for (const auto& [b, e] : model.gradient_groups()) groups.push_back({b, e});
  dist::GradientReducer reducer(comm, model.gradient_storage().data<float>(), groups,
                                static_cast<int64_t>(o.bucket_mb * (1 << 20)),
                                /*overlap=*/!o.shard_optimizer);
  // The word embeddings' gradient is nonzero only on the rows of the batch's tokens. Exchanging
  // just those rows saves bytes but adds collectives: worth it across machines (bytes cost), not
  // within one (each synchronization costs more than shared memory's bytes; measured).
  const bool sparse = o.sparse_embedding_grads == "on" ||
                      (o.sparse_embedding_grads == "auto" && comm.local_size() < comm.size());
  if (sparse) {
    const Tensor& words = model.gradients().at(cfg.base_prefix() + ".embeddings.word_embeddings.weight");
    const int64_t begin = words.data<float>() - model.gradient_storage().data<float>();
    reducer.set_sparse_rows({begin, begin + words.numel()}, cfg.hidden_size);
  }

  const int64_t n = static_cast<int64_t>(train_set.encs.size());
  const int64_t micro_per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const int64_t steps_per_epoch = (micro_per_epoch + o.grad_accum - 1) / o.grad_accum;
  int64_t total_steps = steps_per_epoch * o.epochs;
  if (o.max_steps > 0) total_steps = std::min(total_steps, o.max_steps);
  const auto warmup = static_cast<int64_t>(std::ceil(o.warmup_ratio * static_cast<double>(steps_per_epoch * o.epochs)));

  if (root) fs::create_directories(o.out);
  const json fp = fingerprint(o, total_params, n, static_cast<int64_t>(eval_set.encs.size()));
  check_ranks_agree(comm, fp, train_set, eval_set, model);
  History hist;
  int64_t step = 0;
  if (o.resume) {
    step = load_state(o, model, opt, hist, fp);
    log("resumed from " + state_file(o).string() + " at step " + std::to_string(step));
  }
  if (root) save_model(o, model, tok);   // a loadable folder from the start; replaced by the best epoch
  if (comm.size() > 1) log("data parallel: " + comm.describe() + ", " + std::to_string(omp_get_max_threads()) +
                           " threads per rank" + (o.shard_optimizer ? ", optimizer sharded" : ""));

  for (int epoch = static_cast<int>(step / steps_per_epoch) + 1; epoch <= o.epochs && step < total_steps; ++epoch) {
    const std::vector<int64_t> order = epoch_order(n, o.seed, epoch);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t loss_count = 0, tokens = 0;
    const int64_t first_step = static_cast<int64_t>(epoch - 1) * steps_per_epoch;
    for (int64_t s = step - first_step; s < steps_per_epoch && step < total_steps; ++s) {
      model.zero_grad();
      const int64_t micros = std::min<int64_t>(o.grad_accum, micro_per_epoch - s * o.grad_accum);
      double sums[2] = {0, 0};   // this step's loss (sum over micro-batches of their means), tokens
      for (int64_t k = 0; k < micros; ++k) {
        const int64_t begin = (s * o.grad_accum + k) * o.batch_size, end = std::min(n, begin + o.batch_size);
        const dist::Range mine = dist::share(end - begin, comm.rank(), comm.size());
        // This rank's rows' share of the batch's loss weight: the sum over ranks is the batch mean.
        const double weight = static_cast<double>(loss_weight(train_set, order, begin + mine.begin, begin + mine.end)) /
                              static_cast<double>(std::max<int64_t>(loss_weight(train_set, order, begin, end), 1));
        StepOptions so;
        so.seed = o.seed;
        so.micro_step = static_cast<uint64_t>(step) * static_cast<uint64_t>(o.grad_accum) + static_cast<uint64_t>(k);
        so.loss_scale = static_cast<float>(weight / o.grad_accum);
        so.first_row = mine.begin;
        so.first_token = token_count(train_set, order, begin, begin + mine.begin);
        if (k + 1 == micros && !o.shard_optimizer) so.on_gradients_ready = [&](size_t g) { reducer.ready(g); };
        if (mine.size() == 0) continue;   // a last batch smaller than the rank count
        const Slice sl = make_slice(train_set, order, begin + mine.begin, begin + mine.end, cfg);
        if (sparse && comm.size() > 1 && !o.shard_optimizer) reducer.touch_rows(sl.batch.input_ids);
        sums[0] += model.forward_backward(sl.batch, sl.targets, so).loss * weight;
        sums[1] += static_cast<double>(sl.batch.tokens());
      }
      if (o.shard_optimizer) {
        comm.reduce_scatter_sum(model.gradient_storage().data<float>(), total_params);
        if (o.max_grad_norm > 0)
          clip_grad_norm(model.gradient_storage().data<float>() + shard.begin, shard.size(), o.max_grad_norm, comm);
      } else {
        reducer.finish();
        if (o.max_grad_norm > 0) clip_grad_norm(model, o.max_grad_norm);
      }
      comm.allreduce_sum(sums, 2);
      const double step_loss = sums[0];
      if (!std::isfinite(step_loss))
        throw Error("the loss became " + std::to_string(step_loss) + " at step " + std::to_string(step + 1) +
                    " (learning rate too high?)");
      opt.step(o.lr * schedule_factor(schedule, step, warmup, steps_per_epoch * o.epochs));
      if (o.shard_optimizer) comm.allgather(model.parameter_storage().data<float>(), total_params);
      ++step;
      tokens += static_cast<int64_t>(sums[1]);
      hist.step_loss.emplace_back(step, step_loss / static_cast<double>(micros));
      loss_sum += step_loss / static_cast<double>(micros);
      ++loss_count;
      if (o.progress && root) {
        const double secs = seconds_since(t0);   // ETA from this process's pace in this epoch
        show_progress(epoch, o.epochs, s + 1, steps_per_epoch, loss_sum / loss_count, tokens / std::max(secs, 1e-9),
                      secs / loss_count * static_cast<double>(steps_per_epoch - s - 1));
      }
      if (o.save_steps > 0 && step % o.save_steps == 0 && s + 1 < steps_per_epoch)
        save_state(o, model, opt, step, hist, fp, comm);
    }
    if (o.progress && root) std::fprintf(stderr, "\n");
    const double secs = seconds_since(t0);
    if (step < first_step + steps_per_epoch) {   // --max-steps inside an epoch: no eval, resumable
      if (root) save_model(o, model, tok);
      save_state(o, model, opt, step, hist, fp, comm);
      log("stopped at step " + std::to_string(step) + " of " + std::to_string(steps_per_epoch * o.epochs) +
          " (--max-steps); --resume continues");
      break;
    }

    json line = {{"epoch", epoch}, {"step", step}, {"train_loss", loss_count ? loss_sum / loss_count : NAN},
                 {"seconds", secs}, {"tokens_per_s", tokens / std::max(secs, 1e-9)},
                 {"lr", o.lr * schedule_factor(schedule, std::max<int64_t>(step - 1, 0), warmup, steps_per_epoch * o.epochs)},
                 {"peak_activation_mb", static_cast<double>(model.peak_activation_bytes()) / (1 << 20)},
                 {"recompute", model.recompute()}};
    if (comm.size() > 1) line["ranks"] = comm.size();
    bool improved = true;
    std::string report_text, report_json;
    if (!eval_set.encs.empty()) {
      const EvalResult r = evaluate(model, eval_set, task, cfg.id2label, std::max<int64_t>(o.batch_size, 32), comm);
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
      if (root) {
        save_model(o, model, tok);
        if (!report_text.empty()) {
          write_file_atomic(o.out / "eval_report.txt", "best epoch " + std::to_string(epoch) + "\n\n" + report_text);
          write_file_atomic(o.out / "eval_report.json", report_json + "\n");
        }
      }
    } else {
      ++hist.bad_epochs;
    }
    line["best_epoch"] = hist.best_epoch;
    hist.epochs.push_back(line);
    epoch_json(line.dump());

    if (root) {
      std::string lines;
      for (const auto& e : hist.epochs) lines += e.dump() + "\n";
      write_file_atomic(o.out / "metrics.jsonl", lines);
      write_file_atomic(o.out / "training_curves.svg", training_curves_svg(curves_of(hist, o)));
    }
    save_state(o, model, opt, step, hist, fp, comm);
    if (o.stop_requested) {
      int64_t stop = root && o.stop_requested() ? 1 : 0;
      comm.allreduce_sum(&stop, 1);   // every rank leaves the loop together
      if (stop) {
        log("stopped after epoch " + std::to_string(epoch) + " at the caller's request");
        break;
      }
    }
    if (o.early_stop_patience > 0 && hist.bad_epochs >= o.early_stop_patience) {
      log("early stop: no improvement for " + std::to_string(hist.bad_epochs) + " epochs (best: epoch " +
          std::to_string(hist.best_epoch) + ")");
      break;
    }
  }
  comm.barrier();   // rank 0's files are complete when any rank returns
}

}  // namespace ernie

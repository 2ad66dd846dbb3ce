// The pieces of ernie train's loop (trainer.cc), one concern per file: data and initial weights
// (train_data.cc), evaluation (train_eval.cc), checkpoints and history (train_state.cc).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ernie/dataset.h"
#include "ernie/dist.h"
#include "ernie/optimizer.h"
#include "ernie/tokenizer.h"
#include "ernie/trainable.h"
#include "ernie/trainer.h"
#include "train/report.h"

namespace ernie::train {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Log = std::function<void(const std::string&)>;

// ---- data and initial weights (train_data.cc) -----------------------------------------------------

Tokenizer load_tokenizer(const TrainOptions& o);
// An explicit --problem-type that does not fit the data's format is refused by read_dataset.
TaskType task_of(const TrainOptions& o, const Config& base, DataFormat format);
Head head_of(TaskType task);
// The classifier's config: the base config with a sequence- or token-classification head over `labels`.
Config classifier_config(Config cfg, const LabelSet& labels, TaskType task, int64_t regression_outputs);
// Fresh weights from the seed; with --init-from, every tensor the checkpoint has with the same
// name (or the same name under another base prefix) and shape replaces the fresh one.
std::map<std::string, Tensor> initial_parameters(const Config& cfg, const TrainOptions& o, const Log& log);

// A dataset tokenized once: encodings and their targets.
struct Encoded {
  std::vector<Encoding> encs;
  std::vector<int32_t> labels;    // [n] single-label
  std::vector<float> targets;     // [n, outputs] multi-label / regression
  std::vector<std::vector<int32_t>> token_labels;   // token classification: [n][tokens], -100 = ignored
  int64_t outputs = 0;
};
Encoded encode(const Dataset& data, const Tokenizer& tok, int64_t max_len, TaskType task, int64_t outputs);

struct Slice {
  Batch batch;
  Targets targets;
};
// Rows order[begin, end) of e, packed.
Slice make_slice(const Encoded& e, const std::vector<int64_t>& order, int64_t begin, int64_t end, const Config& cfg);
// What the loss of rows order[begin, end) is a mean over: rows, or tagged tokens (token classification).
int64_t loss_weight(const Encoded& e, const std::vector<int64_t>& order, int64_t begin, int64_t end);
// Packed tokens of rows order[begin, end).
int64_t token_count(const Encoded& e, const std::vector<int64_t>& order, int64_t begin, int64_t end);
// Fisher-Yates with counter-based draws: the order of epoch `epoch` depends on (seed, epoch) only.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch);

// Before any work, every rank compares `mine` (settings, data and weight digests) with rank 0's;
// a rank that differs stops the job: every rank throws the same one-line error naming it.
void check_ranks_agree(dist::Communicator& comm, const json& mine);
// FNV-1a over bytes: a cheap fingerprint to compare ranks, not a security measure.
uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull);

// ---- evaluation (train_eval.cc) -------------------------------------------------------------------

struct EvalResult {
  double loss = 0;
  double accuracy = 0, macro_f1 = 0;   // (regression: accuracy = NaN, macro_f1 = NaN)
  double entity_precision = NAN, entity_recall = NAN, entity_f1 = NAN;   // token classification (micro)
  std::string report_text, report_json;
  double score = 0;                    // higher is better: accuracy, micro-F1 (labels or entities) or -MSE
};
// Each rank evaluates its share of e; every rank returns the metrics of the whole set.
EvalResult evaluate(TrainableModel& model, const Encoded& e, TaskType task, const std::vector<std::string>& names,
                    int64_t batch_size, dist::Communicator& comm);

// ---- checkpoints (train_state.cc) -----------------------------------------------------------------

// Everything a resumed run needs, in one atomically written file: parameters, AdamW moments and
// the loop's state (step, history, best epoch) as JSON metadata.
struct History {
  std::vector<std::pair<int64_t, double>> step_loss;   // (optimizer step, mean loss of its micro-batches)
  std::vector<json> epochs;                            // the per-epoch JSON lines
  double best_score = -INFINITY;
  int best_epoch = 0, bad_epochs = 0;
};
json history_json(const History& h);
History history_from(const json& j);
// What must not change between a run and its resumption (the rank count may).
json fingerprint(const TrainOptions& o, int64_t params, int64_t train_rows, int64_t eval_rows);
fs::path state_file(const TrainOptions& o);
// The optimizer's moments may be one rank's slice (--shard-optimizer): they are gathered to write
// and sliced on reading. Only rank 0 writes.
void save_state(const TrainOptions& o, TrainableModel& model, AdamW& opt, int64_t step, const History& h,
                const json& fp, dist::Communicator& comm);
int64_t load_state(const TrainOptions& o, TrainableModel& model, AdamW& opt, History& h, const json& fp);
// The model folder: config.json (labels from the data), model.safetensors, the tokenizer.
void save_model(const TrainOptions& o, const TrainableModel& model, const Tokenizer& tok);
TrainingCurves curves_of(const History& h, const TrainOptions& o);

}  // namespace ernie::train

// Fine-tuning a classifier end to end: data -> tokenizer -> TrainableModel -> AdamW, with eval
// each epoch, atomic checkpoints, --resume, early stopping, and a complete model folder out.
// Sequence classification (TSV, JSON lines) and token classification (CoNLL: NER with BIO tags).
// `ernie train` is a thin command line over run_training().
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace ernie {

namespace dist { class Communicator; }

struct TrainOptions {
  // Model: a fresh initialization from a config file, or any model folder the project loads.
  std::filesystem::path config, init_from;
  std::filesystem::path vocab;   // vocab.txt (optional with init_from: the folder's tokenizer)
  bool lowercase = true;         // for --vocab (a model folder's tokenizer_config.json decides otherwise)
  // Data (TSV, JSON lines or CoNLL, see ernie/dataset.h).
  std::filesystem::path train_file, eval_file, labels_file;
  std::string format = "auto";   // auto (by extension) | tsv | jsonl | conll
  std::string text_field = "text", text_b_field, label_field = "label";
  // "" (a CoNLL file: token_classification; else the config's, else single_label_classification),
  // or a name of parse_task_type.
  std::string problem_type;
  bool skip_bad_rows = false;
  std::filesystem::path out;
  // Recipe.
  int epochs = 3;
  int64_t batch_size = 32;
  int grad_accum = 1;
  double lr = 5e-5, warmup_ratio = 0.0, weight_decay = 0.01, max_grad_norm = 1.0;
  std::string schedule = "linear";
  int64_t max_seq_len = 128;
  uint64_t seed = 42;
  int threads = 0;                          // 0: OpenMP's default
  int early_stop_patience = 0;              // 0: never stop early
  std::optional<bool> recompute;            // unset: the config's enable_recompute
  std::optional<double> dropout;            // unset: the config's dropout probabilities
  int64_t save_steps = 0;                   // also checkpoint every N optimizer steps (0: each epoch only)
  int64_t max_steps = 0;                    // stop after N optimizer steps in total (0: no limit)
  bool resume = false;
  bool progress = false;                    // a progress line on stderr (the CLI enables it on a terminal)
  // Data parallel (docs/DISTRIBUTED.md): the ranks of `comm` (null: one process) share every
  // batch; batch_size stays the global batch. Gradients are allreduced in buckets of about
  // bucket_mb MiB as backward finishes them; shard_optimizer keeps 1/N of AdamW's moments per rank.
  dist::Communicator* comm = nullptr;
  double bucket_mb = 25;
  bool shard_optimizer = false;
  // Exchange only the word-embedding rows the ranks' batches touched: on | off | auto (on when
  // the ranks span several machines).
  std::string sparse_embedding_grads = "auto";
  // Asked on rank 0 after each epoch (its metrics line sent, its checkpoint saved): true ends
  // training there, on every rank (the Python package's epoch callback).
  std::function<bool()> stop_requested;
};

// Runs training. Each finished epoch's metrics go to `epoch_json` as one JSON line (also appended
// to OUT/metrics.jsonl); warnings and notes go to `log`. Throws ernie::Error on bad input.
void run_training(const TrainOptions& o, const std::function<void(const std::string&)>& epoch_json,
                  const std::function<void(const std::string&)>& log);

}  // namespace ernie

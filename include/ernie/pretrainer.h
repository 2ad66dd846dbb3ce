// Pretraining and continued pretraining: masked language modelling (token, whole-word or ERNIE
// knowledge masking) with optional next-sentence or sentence-order prediction, on corpora read
// as streams (memory bounded by a shuffle buffer, whatever the corpus size). `ernie pretrain` is
// a thin command line over run_pretraining(); docs/PRETRAINING.md describes the data rules.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ernie {

namespace dist { class Communicator; }

struct PretrainOptions {
  // Model: a fresh one from a config (its head becomes ...ForMaskedLM / ...ForPreTraining) or
  // continued from any model folder (its encoder, and its MLM head when it has one).
  std::filesystem::path config, init_from, vocab;
  bool lowercase = true;
  // Data: text files, one sentence or paragraph a line, a blank line between documents.
  std::vector<std::filesystem::path> corpus;
  std::filesystem::path eval_corpus;
  double eval_fraction = 0;          // without eval_corpus: this share of the lines, held out
  int64_t eval_max_examples = 2000;
  std::filesystem::path out;
  // full-sentences (RoBERTa: consecutive lines packed up to max_seq_len, a [SEP] between
  // documents; with NSP/SOP, A and B packed from one document) | none (one line or pair each).
  std::string packing = "full-sentences";
  // Masking.
  int64_t max_seq_len = 128;
  double mlm_probability = 0.15;
  std::string masking = "token";      // token | whole-word | knowledge
  std::string masking_schedule;       // ERNIE 1.0's stages in one run: "token:0.3,whole-word:0.3,knowledge:0.4" (shares of the steps)
  std::filesystem::path dict;         // segmenter dictionary (jieba format); default jieba's, for whole-word/knowledge
  bool segment = true;                // use the segmenter for whole-word/knowledge (Chinese words)
  std::filesystem::path spans;        // knowledge: JSON lines {"spans": [[start, end], ...]}, one per corpus line
  std::filesystem::path ref_file;     // whole-word: HF run_mlm_wwm reference file, a JSON list of continuation token indices per corpus line
  bool nsp = false, sop = false;      // next-sentence / sentence-order prediction on consecutive lines
  // Recipe.
  int epochs = 1;
  int64_t max_steps = 0;
  int64_t stop_at_step = 0;           // end this job after step N (state saved; the schedule stays the whole run's)
  int64_t batch_size = 32;            // per rank: the global batch is ranks x batch_size
  int grad_accum = 1;
  double lr = 1e-4, warmup_ratio = 0.0, weight_decay = 0.01, max_grad_norm = 1.0;
  std::string schedule = "linear";     // linear | cosine | constant | polynomial
  double power = 1.0, lr_end = 0.0;   // polynomial decay: its power and final learning rate
  std::string optimizer = "adamw";    // adamw | lamb
  uint64_t seed = 42;
  int threads = 0;
  std::optional<bool> recompute;
  int64_t save_steps = 0;
  int64_t log_steps = 50;
  int64_t shuffle_buffer = 100000;    // lines shuffled together (memory: this many texts)
  bool resume = false;
  bool progress = false;
  int prefetch = 2;                   // optimizer steps prepared ahead by a background thread (0: no thread)
  // Data parallel (docs/DISTRIBUTED.md): the ranks of `comm` (null: one process) each compute a
  // share of every global micro-batch; gradients meet in dist::GradientReducer.
  dist::Communicator* comm = nullptr;
  double bucket_mb = 25;
};

// Runs pretraining: one JSON line per evaluation (and at the end) to `json_line` (also appended
// to OUT/metrics.jsonl), notes to `log`. Throws ernie::Error on bad input.
void run_pretraining(const PretrainOptions& o, const std::function<void(const std::string&)>& json_line,
                     const std::function<void(const std::string&)>& log);

}  // namespace ernie

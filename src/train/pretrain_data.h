// ernie pretrain's data (docs/PRETRAINING.md): corpus lines -> examples (a line, a pair of lines,
// or FULL-SENTENCES packed token sequences) -> a shuffle buffer -> global micro-batches, of which
// this rank prepares (tokenizes, masks) its contiguous share -> optimizer steps, optionally on a
// background thread. Everything here is a pure function of the options and the step it starts at,
// so resumption and any rank count see the same global batches; nothing here knows MPI.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/masking.h"
#include "ernie/pretrainer.h"
#include "ernie/tokenizer.h"
#include "ernie/trainable.h"

namespace ernie::pretrain {

namespace fs = std::filesystem;

// Content tokens (no [CLS]/[SEP] around them) with per-token flags: which masking units they
// continue (whole-word, knowledge) and whether they are specials (a document separator).
enum : uint8_t { kJoinsWord = 1, kJoinsKnowledge = 2, kSpecial = 4 };
struct Tokens {
  std::vector<int32_t> ids;
  std::vector<uint8_t> flags;
  size_t size() const { return ids.size(); }
  void append(const Tokens& t, size_t begin, size_t end);
};

// One training example: raw text (a line, or a pair of lines; --packing none) or packed tokens.
struct Example {
  std::string a, b;
  std::vector<std::pair<int64_t, int64_t>> spans;   // knowledge masking: entity spans of `a`
  std::vector<int32_t> continuations;               // --ref-file: tokens that continue a word
  Tokens ta, tb;                                    // packed: A (the whole sequence) and B
  bool pair = false, packed = false;
  uint64_t index = 0;                               // example number in the stream (masking stream)
};

// The masking of each step: --masking, or --masking-schedule's stages over the run's steps.
struct MaskingSchedule {
  std::vector<std::pair<MaskingKind, double>> stages;   // kinds and their share of the steps
  static MaskingSchedule parse(const std::string& masking, const std::string& schedule);
  MaskingKind kind_at(int64_t step, int64_t total) const;
  bool uses(MaskingKind k) const;
  std::string describe() const;
};

// Reads the corpus files line by line and yields examples. Held-out lines (eval_fraction) are
// skipped here and read by a reader with held_out = true.
class ExampleReader {
 public:
  // threads: lines tokenized in parallel when packing (the result is the same for any count).
  ExampleReader(const PretrainOptions& o, const Tokenizer& tok, const MaskingSchedule& ms, const Segmenter* seg,
                std::vector<fs::path> files, bool held_out, int threads = 1);
  ~ExampleReader();
  bool next(Example& out);   // false at the end of the corpus

 private:
  struct Line;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Counts the examples of the training stream (a first pass, for the schedule's length).
int64_t count_examples(const PretrainOptions& o, const Tokenizer& tok);

// A micro-batch of this rank, ready for TrainableModel: its share [first_row, first_row + rows)
// of the global micro-batch, and the counts the loss is normalized by.
struct Micro {
  Batch batch;
  Targets targets;
  int64_t rows = 0, first_row = 0, tokens = 0, masked = 0, sentences = 0;
};
// One optimizer step's micro-batches (grad_accum of them, fewer at the end of an epoch).
struct StepData {
  int64_t step = 0;   // 0-based optimizer step
  int epoch = 0;      // 0-based
  bool epoch_end = false;
  std::vector<Micro> micros;
};

// Tokenizes (raw examples), applies NSP/SOP, masks and packs a share of a global micro-batch.
class Preparer {
 public:
  Preparer(const PretrainOptions& o, const Tokenizer& tok, const Config& cfg, const Segmenter* seg);
  // Examples [begin, end) of `batch` (the whole global micro-batch: NSP draws its random B from it).
  Micro prepare(const std::vector<Example>& batch, size_t begin, size_t end, uint64_t epoch, uint64_t salt,
                MaskingKind kind) const;

 private:
  Encoding encode_packed(const Example& ex, const Tokens* b, bool swap, std::vector<std::vector<int32_t>>& units,
                         MaskingKind kind) const;
  const PretrainOptions& o_;
  const Tokenizer& tok_;
  const Config& cfg_;
  const Segmenter* seg_;
};

struct StreamSpec {
  int rank = 0, ranks = 1;
  int64_t examples = 0;         // of one epoch
  int64_t steps_per_epoch = 0, total = 0, start_step = 0;
};

// The steps [start_step, total) in order: epochs of the shuffled stream cut into global
// micro-batches of ranks x batch_size examples, grad_accum per step.
class StepSource {
 public:
  StepSource(const PretrainOptions& o, const Tokenizer& tok, const Preparer& prep, const MaskingSchedule& ms,
             const Segmenter* seg, StreamSpec spec);
  ~StepSource();
  bool next(StepData& out);

 private:
  bool next_micro(std::vector<Example>& batch);   // the next global micro-batch of this epoch
  const PretrainOptions& o_;
  const Tokenizer& tok_;
  const Preparer& prep_;
  const MaskingSchedule& ms_;
  const Segmenter* seg_;
  StreamSpec spec_;
  int64_t step_;
  int epoch_ = -1;
  int64_t micro_in_epoch_ = 0, chunk_ = 0;
  std::unique_ptr<ExampleReader> reader_;
  std::vector<Example> buffer_;
  std::vector<int64_t> order_;
  size_t taken_ = 0;
  bool reader_done_ = false;
};

// Runs a StepSource on a background thread, `depth` steps ahead (0: no thread, steps prepared on
// demand). The same steps either way; an exception of the thread is rethrown by next().
class Prefetcher {
 public:
  Prefetcher(StepSource& src, int depth);
  ~Prefetcher();   // stops and joins the thread
  bool next(StepData& out);

 private:
  void run();
  StepSource& src_;
  size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StepData> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace ernie::pretrain

// ernie pretrain's batches: masking and sentence tasks (Preparer), the shuffled stream cut into
// global micro-batches and steps (StepSource), and the background thread (Prefetcher).
#include <algorithm>

#include "ernie/dist.h"
#include "ernie/error.h"
#include "ernie/rng.h"
#include "train/loop.h"
#include "train/pretrain_data.h"

namespace ernie::pretrain {

// ---- Preparer --------------------------------------------------------------------------------------

Preparer::Preparer(const PretrainOptions& o, const Tokenizer& tok, const Config& cfg, const Segmenter* seg)
    : o_(o), tok_(tok), cfg_(cfg), seg_(seg) {}

// [CLS] A [SEP] (B [SEP]) from packed tokens; units from the tokens' flags. A pair longer than
// max_seq_len loses a token at a time from its longer part (B on a tie), from that part's front or
// back at random, as BERT's truncate_seq_pair (here drawn from (seed, example, removal)).
Encoding Preparer::encode_packed(const Example& ex, const Tokens* b_in, bool swap,
                                 std::vector<std::vector<int32_t>>& units, MaskingKind kind) const {
  const Tokens* a = &ex.ta;
  const Tokens* b = ex.pair ? b_in : nullptr;
  if (swap) std::swap(a, b);
  size_t na = a->size(), nb = b ? b->size() : 0, a0 = 0, b0 = 0;
  const size_t cap = static_cast<size_t>(o_.max_seq_len) - (b ? 3 : 2);
  const CounterRng rng(o_.seed ^ 0x7c0de, ex.index);
  for (uint64_t k = 0; na + nb > cap; ++k) {
    const bool front = rng.uniform(k) < 0.5f;
    if (na > nb) a0 += front, --na;
    else b0 += front, --nb;
  }
  Encoding e;
  auto put = [&](int32_t id, uint8_t flags, int32_t type) {
    e.ids.push_back(id);
    e.type_ids.push_back(type);
    e.attention_mask.push_back(1);
    e.special_tokens_mask.push_back((flags & kSpecial) ? 1 : 0);
    const size_t i = e.ids.size() - 1;
    if (flags & kSpecial) return;
    const uint8_t bit = kind == MaskingKind::WholeWord ? kJoinsWord : kind == MaskingKind::Knowledge ? kJoinsKnowledge : 0;
    if ((flags & bit) && !units.empty() && !e.special_tokens_mask[i - 1]) units.back().push_back(static_cast<int32_t>(i));
    else units.push_back({static_cast<int32_t>(i)});
  };
  put(tok_.cls_id(), kSpecial, 0);
  for (size_t k = a0; k < a0 + na; ++k) put(a->ids[k], a->flags[k], 0);
  put(tok_.sep_id(), kSpecial, 0);
  if (b) {
    for (size_t k = b0; k < b0 + nb; ++k) put(b->ids[k], b->flags[k], 1);
    put(tok_.sep_id(), kSpecial, 1);
  }
  return e;
}

Micro Preparer::prepare(const std::vector<Example>& batch, size_t begin, size_t end, uint64_t epoch, uint64_t salt,
                        MaskingKind kind) const {
  Micro m;
  std::vector<Encoding> encs;
  EncodeOptions eo;
  eo.max_length = static_cast<size_t>(o_.max_seq_len);
  eo.utf8_errors = Utf8Errors::Replace;   // a corpus is data, not input to refuse
  MaskingOptions mo;
  mo.kind = kind;
  mo.mlm_probability = o_.mlm_probability;
  mo.seed = o_.seed;
  for (size_t i = begin; i < end; ++i) {
    const Example& ex = batch[i];
    // NSP: half the pairs get the B of another example of the global batch (label 1); SOP: half are
    // swapped (label 1). Drawn from (seed, epoch, example): the same on any rank.
    const CounterRng rng(o_.seed ^ salt, (epoch << 40) ^ ex.index);
    int32_t label = 0;
    bool swap = false;
    const Example* b_from = &ex;
    if (ex.pair && o_.sop && rng.uniform(0) < 0.5f) {
      swap = true;
      label = 1;
    } else if (ex.pair && o_.nsp && rng.uniform(0) < 0.5f && batch.size() > 1) {
      const size_t other = static_cast<size_t>(rng.uniform(1) * static_cast<float>(batch.size())) % batch.size();
      if (batch[other].index != ex.index) {
        b_from = &batch[other];
        label = 1;
      }
    }
    Encoding e;
    std::vector<std::vector<int32_t>> units;
    if (ex.packed) {
      e = encode_packed(ex, &b_from->tb, swap, units, kind);
    } else {
      e = !ex.pair ? tok_.encode(ex.a, eo)
                   : swap ? tok_.encode_pair(ex.b, ex.a, eo) : tok_.encode_pair(ex.a, b_from->b, eo);
      // Units read offsets of the first text only: pairs mask token by token and by ## words.
      units = masking_units(tok_, e, ex.pair ? std::string_view() : std::string_view(ex.a), kind,
                            ex.pair ? nullptr : seg_, ex.spans, ex.continuations);
    }
    if (cfg_.type_vocab_size == 1) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
    const auto labels = mask_encoding(tok_, e, units, mo, epoch, ex.index ^ salt);
    for (int32_t l : labels) m.masked += l != -100;
    m.targets.labels.insert(m.targets.labels.end(), labels.begin(), labels.end());
    if (ex.pair) m.targets.sentence_labels.push_back(label);
    encs.push_back(std::move(e));
  }
  m.rows = static_cast<int64_t>(encs.size());
  m.sentences = static_cast<int64_t>(m.targets.sentence_labels.size());
  if (!encs.empty()) {
    m.batch = pack_encodings(encs, cfg_);
    m.tokens = m.batch.tokens();
  }
  return m;
}

// ---- StepSource -----------------------------------------------------------------------------------

StepSource::StepSource(const PretrainOptions& o, const Tokenizer& tok, const Preparer& prep, const MaskingSchedule& ms,
                       const Segmenter* seg, StreamSpec spec)
    : o_(o), tok_(tok), prep_(prep), ms_(ms), seg_(seg), spec_(spec), step_(spec.start_step) {}

StepSource::~StepSource() = default;

// Examples pass through a shuffle buffer of shuffle_buffer examples, each buffer permuted by
// (seed, epoch, buffer number); a global micro-batch is the next ranks x batch_size of them.
bool StepSource::next_micro(std::vector<Example>& batch) {
  batch.clear();
  const size_t global = static_cast<size_t>(spec_.ranks * o_.batch_size);
  while (batch.size() < global) {
    if (taken_ == order_.size()) {
      buffer_.clear();
      taken_ = 0;
      order_.clear();
      for (Example e; !reader_done_ && static_cast<int64_t>(buffer_.size()) < o_.shuffle_buffer;) {
        if (!reader_->next(e)) reader_done_ = true;
        else buffer_.push_back(std::move(e));
      }
      if (buffer_.empty()) break;
      order_ = train::epoch_order(static_cast<int64_t>(buffer_.size()), o_.seed ^ (static_cast<uint64_t>(chunk_++) << 20),
                                  epoch_);
    }
    batch.push_back(std::move(buffer_[static_cast<size_t>(order_[taken_++])]));
  }
  return !batch.empty();
}

bool StepSource::next(StepData& out) {
  if (step_ >= spec_.total) return false;
  const int epoch = static_cast<int>(step_ / spec_.steps_per_epoch);
  if (epoch != epoch_) {   // a new pass over the corpus
    epoch_ = epoch;
    reader_ = std::make_unique<ExampleReader>(o_, tok_, ms_, seg_, o_.corpus, false);
    buffer_.clear();
    order_.clear();
    taken_ = 0;
    chunk_ = 0;
    reader_done_ = false;
    micro_in_epoch_ = 0;
  }
  const int64_t global = spec_.ranks * o_.batch_size;
  const int64_t micros_per_epoch = (spec_.examples + global - 1) / global;
  const int64_t first = (step_ % spec_.steps_per_epoch) * o_.grad_accum;
  std::vector<Example> batch;
  for (; micro_in_epoch_ < first; ++micro_in_epoch_)   // resumed mid-epoch: read past what was trained
    if (!next_micro(batch)) throw Error("the corpus changed since it was counted: it ends early");
  const int64_t n = std::min<int64_t>(o_.grad_accum, micros_per_epoch - first);
  out.step = step_;
  out.epoch = epoch;
  out.micros.clear();
  const MaskingKind kind = ms_.kind_at(step_, spec_.total);
  for (int64_t k = 0; k < n; ++k, ++micro_in_epoch_) {
    if (!next_micro(batch)) throw Error("the corpus changed since it was counted: it ends early");
    const dist::Range mine = dist::share(static_cast<int64_t>(batch.size()), spec_.rank, spec_.ranks);
    Micro m = prep_.prepare(batch, static_cast<size_t>(mine.begin), static_cast<size_t>(mine.end),
                            static_cast<uint64_t>(epoch), 0, kind);
    m.first_row = mine.begin;
    out.micros.push_back(std::move(m));
  }
  out.epoch_end = first + n >= micros_per_epoch;
  ++step_;
  return true;
}

// ---- Prefetcher -----------------------------------------------------------------------------------

Prefetcher::Prefetcher(StepSource& src, int depth) : src_(src), depth_(static_cast<size_t>(std::max(depth, 0))) {
  if (depth_ > 0) thread_ = std::thread([this] { run(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Prefetcher::run() {
  for (;;) {
    StepData s;
    bool more = false;
    try {
      more = src_.next(s);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = std::current_exception();
      done_ = true;
      cv_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (!more) {
      done_ = true;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return stop_ || queue_.size() < depth_; });
    if (stop_) return;
    queue_.push_back(std::move(s));
    cv_.notify_all();
  }
}

bool Prefetcher::next(StepData& out) {
  if (depth_ == 0) return src_.next(out);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (!queue_.empty()) {
    out = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return true;
  }
  if (error_) std::rethrow_exception(error_);
  return false;
}

}  // namespace ernie::pretrain

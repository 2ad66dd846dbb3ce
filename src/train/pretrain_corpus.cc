// ernie pretrain's corpus reader: lines -> examples, with --packing none (a line, or a pair of
// consecutive lines of one document for NSP/SOP) or full-sentences (RoBERTa's FULL-SENTENCES;
// for NSP/SOP, A and B packed from one document's lines as BERT's create_pretraining_data).
// The rules are in docs/PRETRAINING.md, "Packing".
#include <algorithm>
#include <cmath>
#include <deque>
#include <exception>
#include <fstream>

#include <nlohmann/json.hpp>
#include <omp.h>

#include "ernie/error.h"
#include "ernie/rng.h"
#include "train/pretrain_data.h"

namespace ernie::pretrain {

using json = nlohmann::json;

void Tokens::append(const Tokens& t, size_t begin, size_t end) {
  ids.insert(ids.end(), t.ids.begin() + static_cast<std::ptrdiff_t>(begin), t.ids.begin() + static_cast<std::ptrdiff_t>(end));
  flags.insert(flags.end(), t.flags.begin() + static_cast<std::ptrdiff_t>(begin),
               t.flags.begin() + static_cast<std::ptrdiff_t>(end));
}

// ---- masking schedule -----------------------------------------------------------------------------

MaskingSchedule MaskingSchedule::parse(const std::string& masking, const std::string& schedule) {
  MaskingSchedule s;
  if (schedule.empty()) {
    s.stages.emplace_back(parse_masking(masking), 1.0);
    return s;
  }
  const std::string bad = "--masking-schedule must look like token:0.3,whole-word:0.3,knowledge:0.4, not '" + schedule + "'";
  double sum = 0;
  size_t at = 0;
  while (at <= schedule.size()) {
    const size_t comma = std::min(schedule.find(',', at), schedule.size());
    const std::string part = schedule.substr(at, comma - at);
    const size_t colon = part.find(':');
    if (colon == std::string::npos) throw Error(bad);
    double share = 0;
    try {
      size_t used = 0;
      share = std::stod(part.substr(colon + 1), &used);
      if (used != part.size() - colon - 1) throw Error(bad);
    } catch (const std::exception&) {
      throw Error(bad);
    }
    if (!(share > 0 && share <= 1)) throw Error("--masking-schedule: each stage's share must be in (0, 1]");
    const std::string kind = part.substr(0, colon);
    if (kind != "token" && kind != "whole-word" && kind != "knowledge")
      throw Error("--masking-schedule: a stage is token, whole-word or knowledge, not '" + kind + "'");
    s.stages.emplace_back(parse_masking(kind), share);
    sum += share;
    at = comma + 1;
  }
  if (std::abs(sum - 1.0) > 1e-6) throw Error("--masking-schedule: the shares add up to " + std::to_string(sum) + ", not 1");
  return s;
}

// Stage k covers the steps [round(c_k * total), round(c_{k+1} * total)), c_k the shares before k.
MaskingKind MaskingSchedule::kind_at(int64_t step, int64_t total) const {
  double cum = 0;
  for (const auto& [kind, share] : stages) {
    cum += share;
    if (step < std::llround(cum * static_cast<double>(total))) return kind;
  }
  return stages.back().first;
}

bool MaskingSchedule::uses(MaskingKind k) const {
  return std::any_of(stages.begin(), stages.end(), [&](const auto& s) { return s.first == k; });
}

std::string MaskingSchedule::describe() const {
  static const char* names[] = {"token", "whole-word", "knowledge"};
  if (stages.size() == 1) return names[static_cast<int>(stages[0].first)];
  std::string out;
  for (const auto& [kind, share] : stages)
    out += (out.empty() ? "" : ",") + std::string(names[static_cast<int>(kind)]) + ":" + json(share).dump();
  return out;
}

// ---- the reader -----------------------------------------------------------------------------------

struct ExampleReader::Line {
  std::string text, span_line, ref_line;
  bool doc_start = false;
  uint64_t line_no = 0;
};

struct ExampleReader::Impl {
  const PretrainOptions& o;
  const Tokenizer& tok;
  const MaskingSchedule& ms;
  const Segmenter* seg;
  std::vector<fs::path> files;
  bool held;
  bool packing, pairs;
  size_t file = 0;
  std::ifstream in, spans, refs;
  uint64_t line_no = 0, index = 0;
  bool new_doc = true;
  std::deque<Example> ready;
  std::string prev;       // --packing none with pairs: the previous line of the document
  bool have_prev = false;
  Tokens cur;             // full-sentences: the sequence being filled
  bool doc_pending = false;
  std::vector<Tokens> chunk;   // full-sentences with pairs: the document's lines being gathered
  size_t chunk_tokens = 0;
  // Packing tokenizes lines in blocks, on `threads` threads (the counting pass; the training
  // stream keeps one: its thread runs beside the model's).
  int threads = 1;
  std::deque<std::pair<Line, Tokens>> tokenized;

  Impl(const PretrainOptions& o_, const Tokenizer& t, const MaskingSchedule& m, const Segmenter* s,
       std::vector<fs::path> f, bool h, int nthreads)
      : o(o_), tok(t), ms(m), seg(s), files(std::move(f)), held(h), packing(o_.packing == "full-sentences"),
        pairs(o_.nsp || o_.sop), threads(std::max(1, nthreads)) {
    if (!o.spans.empty() && !held) {
      spans.open(o.spans);
      if (!spans) throw Error("cannot read --spans " + o.spans.string());
    }
    if (!o.ref_file.empty() && !held) {
      refs.open(o.ref_file);
      if (!refs) throw Error("cannot read --ref-file " + o.ref_file.string());
    }
  }

  // A line is held out for evaluation when its hashed number falls under eval_fraction.
  bool keep(uint64_t n) const {
    if (o.eval_fraction <= 0 || !o.eval_corpus.empty()) return !held;
    const bool eval = CounterRng(0x5eed, 0).uniform(n) < o.eval_fraction;
    return eval == held;
  }

  // The next non-empty kept line; a blank line or a new file starts a document.
  bool read_line(Line& l) {
    for (;;) {
      if (!in.is_open()) {
        if (file == files.size()) return false;
        in.open(files[file], std::ios::binary);
        if (!in) throw Error("cannot read corpus " + files[file].string());
        new_doc = true;   // documents do not cross files
      }
      if (!std::getline(in, l.text)) {
        in.close();
        ++file;
        continue;
      }
      const uint64_t n = line_no++;
      if (!l.text.empty() && l.text.back() == '\r') l.text.pop_back();
      l.span_line.clear();
      l.ref_line.clear();
      if (spans.is_open()) std::getline(spans, l.span_line);
      if (refs.is_open()) std::getline(refs, l.ref_line);
      if (l.text.empty()) {
        new_doc = true;
        continue;
      }
      if (!keep(n)) continue;
      l.doc_start = new_doc;
      l.line_no = n;
      new_doc = false;
      return true;
    }
  }

  static std::vector<std::pair<int64_t, int64_t>> parse_spans(const std::string& line, uint64_t n) {
    std::vector<std::pair<int64_t, int64_t>> out;
    if (line.empty()) return out;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("spans") || !j["spans"].is_array())
      throw Error("--spans line " + std::to_string(n + 1) + ": expected {\"spans\": [[start, end], ...]}");
    for (const auto& s : j["spans"]) {
      if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer())
        throw Error("--spans line " + std::to_string(n + 1) + ": a span is [start, end) in characters");
      out.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
    }
    return out;
  }
  static std::vector<int32_t> parse_refs(const std::string& line, uint64_t n) {
    std::vector<int32_t> out;
    if (line.empty()) return out;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      throw Error("--ref-file line " + std::to_string(n + 1) + ": expected a JSON list of token indices");
    for (const auto& v : j) {
      if (!v.is_number_integer()) throw Error("--ref-file line " + std::to_string(n + 1) + ": indices are integers");
      out.push_back(v.get<int32_t>());
    }
    return out;
  }

  // A line's tokens (no truncation) with the unit flags of the masking kinds the run uses, from
  // the same masking_units() as unpacked examples: a packed sequence masks the same units.
  Tokens tokens_of(const Line& l) const {
    EncodeOptions eo;
    eo.utf8_errors = Utf8Errors::Replace;   // a corpus is data, not input to refuse
    const Encoding e = tok.encode(l.text, eo);
    std::vector<int64_t> at(e.size(), -1);
    Tokens t;
    for (size_t i = 0; i < e.size(); ++i) {
      if (e.special_tokens_mask[i]) continue;
      at[i] = static_cast<int64_t>(t.ids.size());
      t.ids.push_back(e.ids[i]);
    }
    t.flags.assign(t.ids.size(), 0);
    const auto spans_ = parse_spans(l.span_line, l.line_no);
    const auto refs_ = parse_refs(l.ref_line, l.line_no);
    for (const auto& [kind, bit] : {std::pair{MaskingKind::WholeWord, kJoinsWord}, std::pair{MaskingKind::Knowledge, kJoinsKnowledge}}) {
      if (!ms.uses(kind)) continue;
      const auto units = masking_units(tok, e, l.text, kind, seg, kind == MaskingKind::Knowledge ? spans_ : decltype(spans_){},
                                       refs_);
      for (const auto& u : units)
        for (size_t k = 1; k < u.size(); ++k) t.flags[static_cast<size_t>(at[static_cast<size_t>(u[k])])] |= bit;
    }
    return t;
  }

  // The next kept line with its tokens. Lines are read in order; a block of them is tokenized at
  // once (each line on its own: the result is the same for any thread count).
  bool next_tokenized(Line& l, Tokens& t) {
    if (tokenized.empty()) {
      constexpr size_t kBlock = 1024;
      std::vector<Line> block;
      for (Line x; block.size() < kBlock && read_line(x);) block.push_back(std::move(x));
      if (block.empty()) return false;
      std::vector<Tokens> toks(block.size());
      std::vector<std::exception_ptr> errors(block.size());
      const int64_t n = static_cast<int64_t>(block.size());
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (threads > 1)
      for (int64_t i = 0; i < n; ++i) {
        try {
          toks[static_cast<size_t>(i)] = tokens_of(block[static_cast<size_t>(i)]);
        } catch (...) {
          errors[static_cast<size_t>(i)] = std::current_exception();
        }
      }
      for (const auto& e : errors)
        if (e) std::rethrow_exception(e);   // the first bad line's error, as one thread would give it
      for (size_t i = 0; i < block.size(); ++i) tokenized.emplace_back(std::move(block[i]), std::move(toks[i]));
    }
    l = std::move(tokenized.front().first);
    t = std::move(tokenized.front().second);
    tokenized.pop_front();
    return true;
  }

  void emit(Tokens a, Tokens b, bool pair) {
    Example e;
    e.ta = std::move(a);
    e.tb = std::move(b);
    e.pair = pair;
    e.packed = true;
    e.index = index++;
    ready.push_back(std::move(e));
  }

  // FULL-SENTENCES: lines appended while they fit in max_seq_len - 2 tokens, a [SEP] between
  // documents; a line that does not fit starts the next sequence; a longer line is cut.
  void add_full(const Line& l, const Tokens& t) {
    doc_pending = doc_pending || l.doc_start;
    if (t.size() == 0) return;
    const size_t cap = static_cast<size_t>(o.max_seq_len - 2);
    const bool sep = doc_pending && cur.size() > 0;
    doc_pending = false;
    if (cur.size() > 0) {
      if (cur.size() + (sep ? 1 : 0) + t.size() <= cap) {
        if (sep) {
          cur.ids.push_back(tok.sep_id());
          cur.flags.push_back(kSpecial);
        }
        cur.append(t, 0, t.size());
        return;
      }
      emit(std::move(cur), {}, false);
      cur = Tokens();
    }
    size_t pos = 0;
    for (; t.size() - pos > cap; pos += cap) {
      Tokens piece;
      piece.append(t, pos, pos + cap);
      emit(std::move(piece), {}, false);
    }
    cur.append(t, pos, t.size());
  }

  // Pairs: a document's lines gathered while they fit in max_seq_len - 3 tokens (at least two),
  // then cut in two at a line boundary drawn from (seed, example): A before, B after.
  void flush_chunk() {
    if (chunk.size() >= 2) {
      const CounterRng rng(o.seed ^ 0xa5a5, index);
      const size_t n = chunk.size();
      const size_t a_end = 1 + std::min(n - 2, static_cast<size_t>(rng.uniform(0) * static_cast<float>(n - 1)));
      Tokens a, b;
      for (size_t k = 0; k < n; ++k) (k < a_end ? a : b).append(chunk[k], 0, chunk[k].size());
      emit(std::move(a), std::move(b), true);
    }
    chunk.clear();
    chunk_tokens = 0;
  }
  void add_pair_line(const Line& l, Tokens t) {
    doc_pending = doc_pending || l.doc_start;
    if (t.size() == 0) return;
    if (doc_pending) flush_chunk();
    doc_pending = false;
    const size_t cap = static_cast<size_t>(o.max_seq_len - 3);
    if (chunk.size() >= 2 && chunk_tokens + t.size() > cap) flush_chunk();
    chunk_tokens += t.size();
    chunk.push_back(std::move(t));
  }

  bool next(Example& out) {
    while (ready.empty()) {
      Line l;
      Tokens t;
      if (packing ? !next_tokenized(l, t) : !read_line(l)) {   // the end: what is being filled goes out
        if (packing && !pairs && cur.size() > 0) emit(std::move(cur), {}, false), cur = Tokens();
        if (packing && pairs) flush_chunk();
        if (ready.empty()) return false;
        break;
      }
      if (packing) {
        pairs ? add_pair_line(l, std::move(t)) : add_full(l, t);
        continue;
      }
      if (pairs) {
        if (!l.doc_start && have_prev) {
          Example e;
          e.a = prev;
          e.b = l.text;
          e.pair = true;
          e.index = index++;
          ready.push_back(std::move(e));
        }
        prev = std::move(l.text);
        have_prev = true;
        continue;
      }
      Example e;
      e.spans = parse_spans(l.span_line, l.line_no);
      e.continuations = parse_refs(l.ref_line, l.line_no);
      e.a = std::move(l.text);
      e.index = index++;
      ready.push_back(std::move(e));
    }
    out = std::move(ready.front());
    ready.pop_front();
    return true;
  }
};

ExampleReader::ExampleReader(const PretrainOptions& o, const Tokenizer& tok, const MaskingSchedule& ms,
                             const Segmenter* seg, std::vector<fs::path> files, bool held_out, int threads)
    : impl_(std::make_unique<Impl>(o, tok, ms, seg, std::move(files), held_out, threads)) {}
ExampleReader::~ExampleReader() = default;
bool ExampleReader::next(Example& out) { return impl_->next(out); }

int64_t count_examples(const PretrainOptions& o, const Tokenizer& tok) {
  // Token masking only: counting needs the token counts, not the (slower) word units.
  const MaskingSchedule plain = MaskingSchedule::parse("token", "");
  ExampleReader r(o, tok, plain, nullptr, o.corpus, false, omp_get_max_threads());
  int64_t n = 0;
  for (Example e; r.next(e);) ++n;
  return n;
}

}  // namespace ernie::pretrain

// Encoding: special-token spans, word pieces, [CLS] A [SEP] (B [SEP]), truncation, padding,
// batches on many threads. Semantics follow HF tokenizers (BertProcessing, truncate_encodings).
#include "ernie/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "ernie/error.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece.h"

namespace ernie {

using tokenizer::Normalizer;
using tokenizer::Words;

Tokenizer::Tokenizer(Vocab vocab, TokenizerOptions options)
    : vocab_(std::move(vocab)), opts_(std::move(options)),
      wordpiece_(std::make_shared<tokenizer::WordPiece>(vocab_, opts_)) {
  unk_id_ = vocab_.id(opts_.unk_token);
  cls_id_ = vocab_.id(opts_.cls_token);
  sep_id_ = vocab_.id(opts_.sep_token);
  pad_id_ = std::max(0, vocab_.id(opts_.pad_token));
  for (const std::string* t : {&opts_.unk_token, &opts_.cls_token, &opts_.sep_token, &opts_.pad_token, &opts_.mask_token})
    if (!t->empty() && vocab_.contains(*t)) specials_.emplace_back(*t, vocab_.id(*t));
  // Longest first, so that the leftmost-longest match wins as in HF's added-token matcher.
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
}

Tokenizer Tokenizer::from_vocab_file(const std::filesystem::path& vocab, TokenizerOptions options) {
  return Tokenizer(Vocab::load(vocab), std::move(options));
}

void Tokenizer::tokenize(std::string_view text, std::vector<Piece>& out, Utf8Errors errors) const {
  out.clear();
  thread_local Words words;
  const Normalizer norm(opts_);
  auto plain_text = [&](std::string_view part, size_t base) {
    if (part.empty()) return;
    tokenizer::split_words(part, static_cast<uint32_t>(base), norm, errors, words);
    for (size_t w = 0; w < words.count(); ++w)
      wordpiece_->encode_word(words.chars.data() + words.starts[w], words.starts[w + 1] - words.starts[w], out);
  };
  if (text.size() > UINT32_MAX) throw Error("text longer than 4 GiB");
  if (opts_.split_special_tokens || specials_.empty()) return plain_text(text, 0);
  // Special tokens written in the raw text are matched before normalization (leftmost, longest).
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = std::string_view::npos, best_len = 0;
    int32_t best_id = -1;
    for (const auto& [tok, id] : specials_) {
      const size_t at = text.find(tok, pos);
      if (at < best || (at == best && tok.size() > best_len)) best = at, best_len = tok.size(), best_id = id;
    }
    if (best == std::string_view::npos) break;
    plain_text(text.substr(pos, best - pos), pos);
    out.push_back(Piece{best_id, static_cast<uint32_t>(best), static_cast<uint32_t>(best + best_len)});
    pos = best + best_len;
  }
  plain_text(text.substr(pos), pos);
}

std::vector<Piece> Tokenizer::tokenize(std::string_view text, Utf8Errors errors) const {
  std::vector<Piece> out;
  tokenize(text, out, errors);
  return out;
}

namespace {

// HF's truncate_encodings for a pair under LongestFirst: the shorter keeps what it can.
void longest_first(size_t max, size_t& n1, size_t& n2) {
  size_t a = n1, b = n2;
  const bool swap = a > b;
  if (swap) std::swap(a, b);
  b = a > max ? a : std::max(a, max - a);
  if (a + b > max) {
    a = max / 2;
    b = a + max % 2;
  }
  if (swap) std::swap(a, b);
  n1 = std::min(n1, a);
  n2 = std::min(n2, b);
}

}  // namespace

Encoding Tokenizer::assemble(std::vector<Piece> a, const std::vector<Piece>* b_in, const EncodeOptions& o) const {
  std::vector<Piece> b = b_in ? *b_in : std::vector<Piece>();
  const bool pair = b_in != nullptr;
  const size_t added = o.add_special_tokens ? (pair ? 3 : 2) : 0;
  if (o.add_special_tokens && (cls_id_ < 0 || sep_id_ < 0))
    throw Error("the vocabulary lacks '" + opts_.cls_token + "' or '" + opts_.sep_token + "'");
  if (o.max_length > 0) {
    if (o.max_length < added)
      throw Error("max length " + std::to_string(o.max_length) + " is shorter than the " + std::to_string(added) +
                  " special tokens");
    const size_t max = o.max_length - added;
    const size_t total = a.size() + b.size();
    if (total > max) {
      const size_t remove = total - max;
      if (o.truncation == Truncation::LongestFirst) {
        size_t n1 = a.size(), n2 = b.size();
        if (pair)
          longest_first(max, n1, n2);
        else
          n1 = max;
        a.resize(n1);
        b.resize(n2);
      } else {
        if (o.truncation == Truncation::OnlySecond && !pair)
          throw Error("truncation only_second needs a pair of texts");
        std::vector<Piece>& target = o.truncation == Truncation::OnlyFirst ? a : b;
        if (target.size() <= remove)
          throw Error("the sequence to truncate is too short to respect max length " + std::to_string(o.max_length));
        target.resize(target.size() - remove);
      }
    }
  }

  Encoding e;
  const size_t n = a.size() + b.size() + added;
  e.ids.reserve(n);
  e.type_ids.reserve(n);
  e.offsets.reserve(n);
  auto special = [&](int32_t id, int32_t type) {
    e.ids.push_back(id);
    e.type_ids.push_back(type);
    e.special_tokens_mask.push_back(1);
    e.sequence_ids.push_back(-1);
    e.offsets.emplace_back(0, 0);
  };
  auto pieces = [&](const std::vector<Piece>& ps, int32_t type) {
    for (const Piece& p : ps) {
      e.ids.push_back(p.id);
      e.type_ids.push_back(type);
      e.special_tokens_mask.push_back(0);
      e.sequence_ids.push_back(static_cast<int8_t>(type));
      e.offsets.emplace_back(p.begin, p.end);
    }
  };
  if (o.add_special_tokens) special(cls_id_, 0);
  pieces(a, 0);
  if (o.add_special_tokens) special(sep_id_, 0);
  if (pair) {
    pieces(b, 1);
    if (o.add_special_tokens) special(sep_id_, 1);
  }
  e.attention_mask.assign(e.ids.size(), 1);
  if (o.padding == Padding::MaxLength && o.max_length > 0) pad(e, o.max_length);
  if (o.pad_to_multiple_of > 0 && o.padding != Padding::None) {
    const size_t m = o.pad_to_multiple_of;
    pad(e, (e.size() + m - 1) / m * m);
  }
  return e;
}

void Tokenizer::pad(Encoding& e, size_t length) const {
  while (e.ids.size() < length) {
    e.ids.push_back(pad_id_);
    e.type_ids.push_back(0);
    e.attention_mask.push_back(0);
    e.special_tokens_mask.push_back(1);
    e.sequence_ids.push_back(-1);
    e.offsets.emplace_back(0, 0);
  }
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& o) const {
  return assemble(tokenize(text, o.utf8_errors), nullptr, o);
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b, const EncodeOptions& o) const {
  const std::vector<Piece> pb = tokenize(b, o.utf8_errors);
  return assemble(tokenize(a, o.utf8_errors), &pb, o);
}

Encoding Tokenizer::encode_words(const std::vector<std::string>& words, const EncodeOptions& o,
                                 std::vector<int64_t>& first_piece) const {
  // Every word's pieces in one sequence (offsets into the words joined by ' '), then the usual
  // truncation, specials and padding; first_piece[w] indexes the encoding, -1 when cut off.
  std::vector<Piece> all, word;
  std::vector<size_t> start(words.size());
  size_t base = 0;
  for (size_t w = 0; w < words.size(); ++w) {
    tokenize(words[w], word, o.utf8_errors);
    start[w] = word.empty() ? SIZE_MAX : all.size();
    for (Piece p : word) {
      p.begin += static_cast<uint32_t>(base);
      p.end += static_cast<uint32_t>(base);
      all.push_back(p);
    }
    base += words[w].size() + 1;
  }
  Encoding e = assemble(std::move(all), nullptr, o);
  const auto kept = static_cast<size_t>(std::count(e.sequence_ids.begin(), e.sequence_ids.end(), 0));
  const size_t first = o.add_special_tokens ? 1 : 0;
  first_piece.assign(words.size(), -1);
  for (size_t w = 0; w < words.size(); ++w)
    if (start[w] < kept) first_piece[w] = static_cast<int64_t>(first + start[w]);
  return e;
}

std::vector<std::string> Tokenizer::split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto end_word = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    char32_t c = 0;
    const int len = tokenizer::utf8_decode(s, i, text.size(), c);
    if (len == 0) {   // an invalid byte: part of the word, for encode_words to report
      word += text[i++];
      continue;
    }
    const uint8_t flags = tokenizer::char_flags(c);
    if (flags & tokenizer::kSpace) {
      end_word();
    } else if (flags & tokenizer::kCjk) {
      end_word();
      words.emplace_back(text.substr(i, static_cast<size_t>(len)));
    } else {
      word.append(text.substr(i, static_cast<size_t>(len)));
    }
    i += static_cast<size_t>(len);
  }
  end_word();
  return words;
}

namespace {

// Runs fn(i) for i in [0, n) on `threads` threads; rethrows the first failing index's error
// as "line i+1: ...".
template <class Fn>
void parallel_for(size_t n, unsigned threads, Fn fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(1, n / 64)));
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t failed = SIZE_MAX;
  std::string message;
  auto work = [&] {
    constexpr size_t kChunk = 64;
    for (size_t begin; (begin = next.fetch_add(kChunk)) < n;) {
      for (size_t i = begin; i < std::min(n, begin + kChunk); ++i) {
        try {
          fn(i);
        } catch (const std::exception& ex) {
          std::lock_guard<std::mutex> lock(mu);
          if (i < failed) failed = i, message = ex.what();
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed != SIZE_MAX) throw Error("line " + std::to_string(failed + 1) + ": " + message);
}

}  // namespace

// Padding::Longest: every encoding padded to the batch's longest (rounded up to pad_to_multiple_of).
void Tokenizer::pad_batch(std::vector<Encoding>& out, const EncodeOptions& o) const {
  if (o.padding != Padding::Longest) return;
  size_t longest = 0;
  for (const auto& e : out) longest = std::max(longest, e.size());
  if (o.pad_to_multiple_of > 0) longest = (longest + o.pad_to_multiple_of - 1) / o.pad_to_multiple_of * o.pad_to_multiple_of;
  for (auto& e : out) pad(e, longest);
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string_view>& texts, const EncodeOptions& o,
                                              unsigned threads) const {
  std::vector<Encoding> out(texts.size());
  parallel_for(texts.size(), threads, [&](size_t i) { out[i] = encode(texts[i], o); });
  pad_batch(out, o);
  return out;
}

std::vector<Encoding> Tokenizer::encode_pair_batch(
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs, const EncodeOptions& o,
    unsigned threads) const {
  std::vector<Encoding> out(pairs.size());
  parallel_for(pairs.size(), threads, [&](size_t i) { out[i] = encode_pair(pairs[i].first, pairs[i].second, o); });
  pad_batch(out, o);
  return out;
}

std::vector<std::pair<uint32_t, uint32_t>> Encoding::char_offsets(std::string_view a, std::string_view b) const {
  // Code point index of every byte position (continuation bytes never start or end a span).
  auto prefix = [](std::string_view s) {
    std::vector<uint32_t> idx(s.size() + 1);
    uint32_t chars = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      idx[i] = chars;
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++chars;
    }
    idx[s.size()] = chars;
    return idx;
  };
  const auto pa = prefix(a), pb = prefix(b);
  std::vector<std::pair<uint32_t, uint32_t>> out(offsets.size(), {0, 0});
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (sequence_ids[i] < 0) continue;
    const auto& p = sequence_ids[i] == 0 ? pa : pb;
    const auto [s, e] = offsets[i];
    if (e < p.size()) out[i] = {p[s], p[e]};
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  const std::string& prefix = opts_.continuing_subword_prefix;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) continue;
    const std::string& t = vocab_.token(id);
    if (skip_special_tokens && std::any_of(specials_.begin(), specials_.end(), [&](const auto& s) { return s.second == id; }))
      continue;
    if (!prefix.empty() && t.compare(0, prefix.size(), prefix) == 0 && t.size() > prefix.size()) {
      out += t.substr(prefix.size());
    } else {
      if (!out.empty()) out += ' ';
      out += t;
    }
  }
  return out;
}

}  // namespace ernie

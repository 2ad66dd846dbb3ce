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
  uint32_t word = 0;   // HF numbers the words of the whole text, special tokens included
  auto plain_text = [&](std::string_view part, size_t base) {
    if (part.empty()) return;
    tokenizer::split_words(part, static_cast<uint32_t>(base), norm, errors, words);
    for (size_t w = 0; w < words.count(); ++w, ++word) {
      const size_t first = out.size();
      wordpiece_->encode_word(words.chars.data() + words.starts[w], words.starts[w + 1] - words.starts[w], out);
      for (size_t k = first; k < out.size(); ++k) out[k].word = word;
    }
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
    out.push_back(Piece{best_id, static_cast<uint32_t>(best), static_cast<uint32_t>(best + best_len), word++});
    pos = best + best_len;
  }
  plain_text(text.substr(pos), pos);
}

std::vector<Piece> Tokenizer::tokenize(std::string_view text, Utf8Errors errors) const {
  std::vector<Piece> out;
  tokenize(text, out, errors);
  return out;
}

Encoding Tokenizer::encode_words(const std::vector<std::string>& words, const EncodeOptions& o,
                                 std::vector<int64_t>& first_piece) const {
  // Every word's pieces in one sequence (offsets into the words joined by ' '), then the usual
  // truncation, specials and padding; first_piece[w] indexes the encoding, -1 when cut off.
  std::vector<Piece> all, word;
  std::vector<uint32_t> first_begin(words.size(), UINT32_MAX);
  size_t base = 0;
  for (size_t w = 0; w < words.size(); ++w) {
    tokenize(words[w], word, o.utf8_errors);
    for (Piece p : word) {
      p.begin += static_cast<uint32_t>(base);
      p.end += static_cast<uint32_t>(base);
      p.word = static_cast<uint32_t>(w);
      if (first_begin[w] == UINT32_MAX) first_begin[w] = p.begin;
      all.push_back(p);
    }
    base += words[w].size() + 1;
  }
  Encoding e = std::move(assemble(all, nullptr, o, false).front());
  first_piece.assign(words.size(), -1);
  for (size_t k = 0; k < e.size(); ++k) {
    const int32_t w = e.word_ids[k];
    // A word whose first piece was truncated away (left truncation) has no tag carrier.
    if (w >= 0 && first_piece[w] < 0 && e.offsets[k].first == first_begin[w]) first_piece[w] = static_cast<int64_t>(k);
  }
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

}  // namespace ernie

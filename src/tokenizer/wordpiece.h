// Greedy longest-match-first WordPiece (HF tokenizers' WordPiece model): a word becomes the
// longest vocab prefix, then "##" continuations; a word with an unmatchable rest, or longer than
// max_input_chars_per_word chars, becomes one [UNK] spanning the whole word.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ernie/tokenizer.h"
#include "tokenizer/normalizer.h"

namespace ernie::tokenizer {

class WordPiece {
 public:
  WordPiece(const Vocab& vocab, const TokenizerOptions& o);

  // Appends the pieces of the normalized word chars[0..n) to out.
  void encode_word(const NormChar* chars, size_t n, std::vector<Piece>& out) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, int32_t, Hash, std::equal_to<>>;
  int32_t find(const Map& m, std::string_view s) const {
    auto it = m.find(s);
    return it == m.end() ? -1 : it->second;
  }

  Map first_, cont_;                 // word-initial tokens; continuations without their prefix
  size_t first_max_ = 0, cont_max_ = 0;   // longest key in bytes: bounds the search
  int32_t unk_;
  size_t max_chars_;
};

}  // namespace ernie::tokenizer

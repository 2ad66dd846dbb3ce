// A WordPiece vocabulary trainer in the manner of HF's BertWordPieceTokenizer trainer: words
// from the BERT normalizer + pre-tokenizer, an alphabet of chars ("##c" inside words), then
// BPE-style merges of the most frequent adjacent pair until the vocabulary is full.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ernie/tokenizer.h"
#include "ernie/vocab.h"

namespace ernie {

struct VocabTrainOptions {
  size_t vocab_size = 30000;
  uint64_t min_frequency = 2;   // pairs seen fewer times are never merged
  size_t limit_alphabet = 1000;  // most frequent initial chars kept (0: all)
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  TokenizerOptions normalizer;   // casing, accents, CJK handling of the text
  Utf8Errors utf8_errors = Utf8Errors::Strict;
};

// Trains on texts (one per element). Ties between equally frequent pairs go to the smaller
// pair of tokens in byte order, so the result is deterministic.
Vocab train_wordpiece(const std::vector<std::string_view>& texts, const VocabTrainOptions& o);

}  // namespace ernie

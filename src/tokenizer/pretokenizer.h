// BertPreTokenizer over the normalizer's output: words split at whitespace (removed) and at
// punctuation (each mark a word of its own), CJK ideographs as single-char words. Every
// normalized char keeps the byte span of the original char it came from.
#pragma once
#include <string_view>
#include <vector>

#include "tokenizer/normalizer.h"

namespace ernie::tokenizer {

struct Words {
  std::vector<NormChar> chars;     // all words back to back
  std::vector<uint32_t> starts;    // word w is chars[starts[w] .. starts[w+1]); size = words + 1
  size_t count() const { return starts.empty() ? 0 : starts.size() - 1; }
  void clear() {
    chars.clear();
    starts.assign(1, 0);
  }
};

// Splits `text` into normalized words. Offsets are bytes of `text` plus `base`. Invalid UTF-8
// throws ernie::Error naming the byte offset (Strict) or reads as U+FFFD (Replace), which
// clean_text then drops.
void split_words(std::string_view text, uint32_t base, const Normalizer& norm, Utf8Errors errors, Words& out);

}  // namespace ernie::tokenizer

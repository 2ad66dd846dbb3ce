// BertNormalizer, one code point at a time: which chars are dropped or become spaces, and what
// a kept char turns into (NFD + nonspacing-mark stripping, then lowercasing, in HF's order).
#pragma once
#include <cstdint>
#include <vector>

#include "ernie/tokenizer.h"
#include "tokenizer/unicode.h"

namespace ernie::tokenizer {

// A normalized char and the byte span of the original char it came from.
struct NormChar {
  char32_t c;
  uint32_t begin, end;
  uint8_t ccc;
  bool mn;
  bool extra;   // not the first char of its code point's decomposition
};

class Normalizer {
 public:
  explicit Normalizer(const TokenizerOptions& o)
      : clean_(o.clean_text), cjk_(o.handle_chinese_chars), strip_(o.strips_accents()), lower_(o.lowercase),
        plain_mask_(strip_ ? kPlainUncased : (lower_ ? kPlainLowerOnly : kPlainCased)) {}

  bool clean_text() const { return clean_; }
  bool handle_chinese_chars() const { return cjk_; }
  // The flag that says "this char passes through unchanged" in this configuration.
  uint8_t plain_mask() const { return plain_mask_; }

  // Appends c's NFD decomposition (when stripping accents; else c) to `word`. The caller puts
  // combining marks in canonical order; marks are only dropped, and lowercasing applied, by
  // finish() after that, in HF's order (NFD, strip Mn, lowercase).
  void append(char32_t c, uint32_t begin, uint32_t end, std::vector<NormChar>& word) const;
  // Appends `word` to `out` without nonspacing marks (when stripping), lowercased (when lowercasing).
  void finish(const std::vector<NormChar>& word, std::vector<NormChar>& out) const;

 private:
  bool clean_, cjk_, strip_, lower_;
  uint8_t plain_mask_;
};

}  // namespace ernie::tokenizer

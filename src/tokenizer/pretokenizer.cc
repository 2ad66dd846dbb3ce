#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <utility>

#include "ernie/error.h"

namespace ernie::tokenizer {

namespace {

class Splitter {
 public:
  Splitter(const Normalizer& norm, Words& out) : norm_(norm), out_(out) {}

  // A char that passes through unchanged (and is a canonical-order starter).
  void plain(char32_t c, uint32_t b, uint32_t e, bool punct) {
    flush_pending();
    if (punct) end_word();
    out_.chars.push_back(NormChar{c, b, e, 0, false, false});
    if (punct) end_word();
  }

  // Any other char: normalized through the pending combining sequence.
  void complex(char32_t c, uint32_t b, uint32_t e) {
    scratch_.clear();
    norm_.append(c, b, e, scratch_);
    for (const NormChar& nc : scratch_) {
      const uint8_t f = char_flags(nc.c);
      if (nc.ccc == 0) flush_pending();
      // A decomposition may yield whitespace or punctuation (e.g. U+037E -> ';').
      if ((f & kSpace) && !nc.mn) {
        end_word();
        continue;
      }
      if ((f & kPunct) && nc.ccc == 0) {
        end_word();
        pending_.push_back(nc);
        end_word();
        continue;
      }
      push_pending(nc);
    }
  }

  void end_word() {
    flush_pending();
    if (out_.chars.size() != out_.starts.back()) out_.starts.push_back(static_cast<uint32_t>(out_.chars.size()));
  }

 private:
  void push_pending(const NormChar& nc) {
    pending_.push_back(nc);
    if (nc.ccc == 0) return;
    // NFD canonical ordering within the combining sequence (stable by class).
    size_t k = pending_.size() - 1;
    while (k > 0 && pending_[k - 1].ccc > nc.ccc) {
      pending_[k] = pending_[k - 1];
      --k;
    }
    pending_[k] = nc;
    reordered_ |= k + 1 != pending_.size();
  }
  // HF aligns after reordering by position: each char that starts a decomposition takes the
  // next original char's span, the rest of a decomposition the span before it (leading ones
  // belong to a char before this combining sequence and keep theirs).
  void realign() {
    spans_.clear();
    for (const NormChar& p : pending_)
      if (!p.extra) spans_.emplace_back(p.begin, p.end);
    std::sort(spans_.begin(), spans_.end());
    size_t next = 0;
    std::pair<uint32_t, uint32_t> last{0, 0};
    for (NormChar& p : pending_) {
      if (!p.extra && next < spans_.size()) last = spans_[next++];
      if (next == 0) continue;
      p.begin = last.first;
      p.end = last.second;
    }
  }
  void flush_pending() {
    if (pending_.empty()) return;
    if (reordered_) realign();
    reordered_ = false;
    norm_.finish(pending_, out_.chars);
    pending_.clear();
  }

  const Normalizer& norm_;
  Words& out_;
  std::vector<NormChar> pending_, scratch_;
  std::vector<std::pair<uint32_t, uint32_t>> spans_;
  bool reordered_ = false;
};

}  // namespace

void split_words(std::string_view text, uint32_t base, const Normalizer& norm, Utf8Errors errors, Words& out) {
  out.clear();
  Splitter sp(norm, out);
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const uint8_t plain = norm.plain_mask();
  const bool clean = norm.clean_text(), cjk = norm.handle_chinese_chars();
  for (size_t i = 0; i < n;) {
    char32_t c;
    int len = utf8_decode(s, i, n, c);
    if (len == 0) {
      if (errors == Utf8Errors::Strict)
        throw Error("invalid UTF-8 at byte " + std::to_string(i) + " (byte 0x" +
                    "0123456789abcdef"[s[i] >> 4] + "0123456789abcdef"[s[i] & 15] + ")");
      c = 0xFFFD;
      len = 1;
    }
    const uint32_t b = base + static_cast<uint32_t>(i), e = b + static_cast<uint32_t>(len);
    i += static_cast<size_t>(len);
    const uint8_t f = char_flags(c);
    if (clean && (f & kDrop)) continue;
    if (f & kSpace) {   // clean_text maps it to ' '; the pre-tokenizer splits there either way
      sp.end_word();
      continue;
    }
    if (cjk && (f & kCjk)) {
      sp.end_word();
      sp.complex(c, b, e);
      sp.end_word();
      continue;
    }
    if (f & plain)
      sp.plain(c, b, e, f & kPunct);
    else
      sp.complex(c, b, e);
  }
  sp.end_word();
}

}  // namespace ernie::tokenizer

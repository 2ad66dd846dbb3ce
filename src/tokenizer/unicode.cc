#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <memory>
#include <utility>

namespace ernie::tokenizer {

namespace {

struct CodeRange {
  char32_t first, last;
};
#include "tokenizer/unicode8_ranges.inc"
#include "tokenizer/lowercase_delta.inc"

template <size_t N>
bool in_ranges(const CodeRange (&r)[N], char32_t c) {
  const CodeRange* it = std::upper_bound(r, r + N, c, [](char32_t v, const CodeRange& x) { return v < x.first; });
  return it != r && c <= (it - 1)->last;
}

// BertNormalizer's CJK ranges. HF's list starts the Extension C/D gap block at U+2B920 (the
// original BERT used U+2B820); HF is the reference here.
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Rust's char::is_whitespace: the White_Space property = Zs, Zl, Zp and U+0009..U+000D, U+0085.
bool is_space(char32_t c, utf8proc_category_t cat) {
  return (c >= 9 && c <= 13) || c == 0x85 || cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP;
}

// HF's is_control, P* and Mn tests use the Unicode 8.0 categories of its unicode_categories
// dependency, not the current ones: a mark or punctuation added since 8.0 is neither there.
// The generated tables (tools/tokenizer/gen_unicode8.js) reproduce that; utf8proc gives the rest.
// is_control: Cc, Cf, Co (its unassigned table is empty), with \t \n \r counted as whitespace.
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return in_ranges(kUnicode8Other, c);
}

bool is_punct(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return in_ranges(kUnicode8Punctuation, c);
}

uint8_t compute_flags(char32_t c) {
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  uint8_t f = 0;
  if (c == 0 || c == 0xFFFD || is_control(c)) f |= kDrop;
  if (is_space(c, cat)) f |= kSpace;
  if (is_cjk(c)) f |= kCjk;
  if (is_punct(c)) f |= kPunct;
  if (!(f & (kDrop | kSpace))) f |= kPlainCased;
  char32_t lower[2];
  const bool lower_same = to_lower(c, lower) == 1 && lower[0] == c;
  if (lower_same && !(f & (kDrop | kSpace))) f |= kPlainLowerOnly;
  NormChars d;
  decompose(c, true, d);
  if (lower_same && d.n == 1 && d.c[0] == c && !d.mn[0] && d.ccc[0] == 0 && !(f & (kDrop | kSpace)))
    f |= kPlainUncased;
  return f;
}

const std::array<uint8_t, 0x10000>& bmp_table() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<uint8_t, 0x10000>>();
    for (char32_t c = 0; c < 0x10000; ++c) (*t)[c] = (c >= 0xD800 && c <= 0xDFFF) ? uint8_t{kDrop} : compute_flags(c);
    return t;
  }();
  return *table;
}

}  // namespace

uint8_t char_flags(char32_t c) { return c < 0x10000 ? bmp_table()[c] : compute_flags(c); }

void decompose(char32_t c, bool strip, NormChars& out) {
  out.n = 0;
  utf8proc_int32_t buf[24];
  utf8proc_ssize_t n = 1;
  buf[0] = static_cast<utf8proc_int32_t>(c);
  // HF's NFD tables are Unicode 9.0: a code point assigned later neither decomposes (U+11938,
  // Unicode 13) nor has a combining class there.
  const bool known = !in_ranges(kUnicode9Unassigned, c);
  if (strip && known) {
    int last_boundclass = 0;
    n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 24, UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n < 1 || n > 24) {   // cannot happen for valid code points; keep the char as is
      n = 1;
      buf[0] = static_cast<utf8proc_int32_t>(c);
    }
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    const utf8proc_property_t* p = utf8proc_get_property(buf[i]);
    out.c[i] = static_cast<char32_t>(buf[i]);
    const bool reorders = strip && !in_ranges(kUnicode9Unassigned, out.c[i]);   // no NFD, no reordering
    out.ccc[i] = reorders ? static_cast<uint8_t>(p->combining_class) : 0;
    out.mn[i] = strip && in_ranges(kUnicode8NonspacingMark, out.c[i]);
  }
  out.n = static_cast<int>(n);
}

int to_lower(char32_t c, char32_t out[2]) {
  // U+0130 is the one unconditional multi-char lowercase mapping (SpecialCasing.txt).
  if (c == 0x130) {
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  if (out[0] == c && c >= kLowercaseDelta[0].first) {   // mappings newer than utf8proc's Unicode
    const auto* end = std::end(kLowercaseDelta);
    const auto* it = std::lower_bound(std::begin(kLowercaseDelta), end, c, [](const auto& e, char32_t v) { return e.first < v; });
    if (it != end && it->first == c) out[0] = it->second;
  }
  return 1;
}

int utf8_decode(const unsigned char* s, size_t i, size_t n, char32_t& c) {
  const unsigned char b0 = s[i];
  if (b0 < 0x80) { c = b0; return 1; }
  int len;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) { len = 2; c = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; c = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; c = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (i + len > n) return 0;
  for (int k = 1; k < len; ++k) {
    const unsigned char b = s[i + k];
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return len;
}

size_t invalid_utf8_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  char32_t c;
  for (size_t i = 0; i < s.size();) {
    const int len = utf8_decode(p, i, s.size(), c);
    if (len == 0) return i;
    i += static_cast<size_t>(len);
  }
  return std::string_view::npos;
}

}  // namespace ernie::tokenizer

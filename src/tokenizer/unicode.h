// Character classes of the BERT pipeline, from utf8proc's Unicode tables (no hand-written
// tables). The definitions follow Hugging Face tokenizers' BertNormalizer / BertPreTokenizer.
#pragma once
#include <string_view>
#include <cstddef>
#include <cstdint>

namespace ernie::tokenizer {

enum CharFlags : uint8_t {
  kDrop = 1,      // clean_text removes it: NUL, U+FFFD, control/format/private-use (not \t\n\r)
  kSpace = 2,     // whitespace (White_Space property): becomes ' ', then splits words
  kCjk = 4,       // a CJK ideograph: a word of its own
  kPunct = 8,     // BertPreTokenizer punctuation: ASCII symbols and Unicode P*
  kPlainCased = 16,    // unchanged by the cased pipeline (no lowercase, no accent stripping)
  kPlainUncased = 32,  // unchanged by NFD + Mn stripping + lowercasing
  kPlainLowerOnly = 64,  // unchanged by lowercasing alone (strip_accents = false)
};

// The flags of a code point (BMP from a table built once, the rest computed).
uint8_t char_flags(char32_t c);

// The output of normalizing one code point: up to 18 code points (NFD expansions are short).
struct NormChars {
  char32_t c[24];
  uint8_t ccc[24];    // canonical combining class, for NFD's canonical reordering
  bool mn[24];        // nonspacing mark: dropped when stripping accents (after reordering)
  int n = 0;
};
// NFD decomposition of c (when strip) with combining classes, else c itself.
void decompose(char32_t c, bool strip, NormChars& out);
// Full lowercase mapping as Rust's char::to_lowercase: appends 1 or 2 code points.
int to_lower(char32_t c, char32_t out[2]);

// Encodes c as UTF-8 at out (4 bytes room); returns the length.
inline int utf8_encode(char32_t c, char* out) {
  if (c < 0x80) { out[0] = static_cast<char>(c); return 1; }
  if (c < 0x800) {
    out[0] = static_cast<char>(0xC0 | (c >> 6));
    out[1] = static_cast<char>(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (c >> 12));
    out[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (c >> 18));
  out[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (c & 0x3F));
  return 4;
}

// Decodes one code point at s[i..n). Returns its length (1..4) and sets c; returns 0 for an
// invalid sequence (overlong, surrogate, > U+10FFFF, truncated), consuming nothing.
int utf8_decode(const unsigned char* s, size_t i, size_t n, char32_t& c);
// Byte offset of the first invalid UTF-8 sequence in s, or npos when all of s is valid.
size_t invalid_utf8_at(std::string_view s);

}  // namespace ernie::tokenizer

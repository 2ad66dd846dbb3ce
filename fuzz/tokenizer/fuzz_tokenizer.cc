// libFuzzer target: arbitrary bytes through the whole tokenizer (both UTF-8 error modes, every
// normalizer mode, pairs with truncation and padding, offsets) and through the vocab parser.
// Build and run: make fuzz-build, then build-fuzz/bin/fuzz_tokenizer (see docs/TOKENIZER.md).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "ernie/error.h"
#include "ernie/tokenizer.h"

namespace {

const ernie::Vocab& vocab() {
  static const ernie::Vocab v = ernie::Vocab::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "b", "##b", "ab", "##ab", "中", "é", "##é", "i",
       "##\xCC\x87", ",", ".", "!", "x", "##x", "\xE2\x80\xA8", "hello", "##llo", "he"});
  return v;
}

void check_offsets(const ernie::Encoding& e, size_t len_a, size_t len_b) {
  for (size_t i = 0; i < e.size(); ++i) {
    const auto [b, en] = e.offsets[i];
    FUZZ_CHECK(b <= en);
    if (e.sequence_ids[i] >= 0) FUZZ_CHECK(en <= (e.sequence_ids[i] == 0 ? len_a : len_b));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ernie::TokenizerOptions o;
  o.lowercase = mode & 1;
  if (mode & 2) o.strip_accents = (mode & 4) != 0;
  o.split_special_tokens = mode & 8;
  o.handle_chinese_chars = !(mode & 16);
  o.max_input_chars_per_word = (mode & 32) ? 3 : 100;
  const ernie::Tokenizer tok(vocab(), o);

  ernie::EncodeOptions eo;
  eo.utf8_errors = (mode & 64) ? ernie::Utf8Errors::Replace : ernie::Utf8Errors::Strict;
  eo.max_length = (mode & 128) ? 3 + size % 13 : 0;
  eo.padding = (mode & 128) ? ernie::Padding::MaxLength : ernie::Padding::None;
  eo.truncation = static_cast<ernie::Truncation>(size % 3);
  const size_t tab = text.find('\t');
  try {
    if (tab == std::string_view::npos) {
      const ernie::Encoding e = tok.encode(text, eo);
      check_offsets(e, text.size(), 0);
      FUZZ_CHECK(e.char_offsets(text).size() == e.size());
    } else {
      const auto a = text.substr(0, tab), b = text.substr(tab + 1);
      const ernie::Encoding e = tok.encode_pair(a, b, eo);
      check_offsets(e, a.size(), b.size());
      FUZZ_CHECK(e.char_offsets(a, b).size() == e.size());
    }
  } catch (const ernie::Error&) {
    // invalid UTF-8 (strict) or a truncation that cannot be met: reported, not a crash
  }
  try {
    const ernie::Vocab v = ernie::Vocab::parse(text);
    if (v.contains("[UNK]")) ernie::Tokenizer(v, o).tokenize(text, ernie::Utf8Errors::Replace);
  } catch (const ernie::Error&) {
  }
  return 0;
}

// libFuzzer target: pretraining's masking over arbitrary text, entity spans and --ref-file
// continuations, with jieba-style segmentation. The input is `mode byte`, text, NUL, then
// (start, end) span pairs and continuation indices as bytes. Every unit must hold real tokens only,
// each token in at most one unit, and the labels must name exactly the tokens that were chosen.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "ernie/error.h"
#include "ernie/masking.h"
#include "ernie/segmenter.h"
#include "ernie/tokenizer.h"

namespace {

const ernie::Tokenizer& tokenizer() {
  static const ernie::Tokenizer t(
      ernie::Vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "model", "##s", "##ing", "中",
                                 "国", "人", "北", "京", "大", "学", ",", "."}),
      {});
  return t;
}

const ernie::Segmenter& segmenter() {
  static const ernie::Segmenter s = ernie::Segmenter::parse("中国 100 ns\n北京 80 ns\n北京大学 20 nt\n大学 50 n\n人 10 n\n");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t cut = rest.find('\0');
  const std::string_view text = rest.substr(0, cut);
  const std::string_view tail = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  std::vector<std::pair<int64_t, int64_t>> spans;
  std::vector<int32_t> continuations;
  for (size_t i = 0; i + 1 < tail.size(); i += 2) {
    const auto a = static_cast<uint8_t>(tail[i]), b = static_cast<uint8_t>(tail[i + 1]);
    if (mode & 64) continuations.push_back(static_cast<int8_t>(a));
    else spans.emplace_back(static_cast<int8_t>(a), b);
  }
  const ernie::MaskingKind kinds[] = {ernie::MaskingKind::Token, ernie::MaskingKind::WholeWord,
                                      ernie::MaskingKind::Knowledge};
  ernie::MaskingOptions o;
  o.kind = kinds[(mode & 3) % 3];
  o.mlm_probability = ((mode >> 2) & 7) / 7.0;
  o.seed = mode;

  const ernie::Tokenizer& tok = tokenizer();
  ernie::EncodeOptions eo;
  eo.utf8_errors = ernie::Utf8Errors::Replace;
  eo.max_length = (mode & 32) ? 8 : 0;
  eo.padding = (mode & 32) ? ernie::Padding::MaxLength : ernie::Padding::None;
  try {
    ernie::Encoding enc = tok.encode(text, eo);
    const auto units = ernie::masking_units(tok, enc, text, o.kind, (mode & 128) ? &segmenter() : nullptr, spans,
                                            continuations);
    std::vector<int> owner(enc.size(), 0);
    for (const auto& u : units) {
      FUZZ_CHECK(!u.empty());
      for (const int32_t i : u) {
        FUZZ_CHECK(i >= 0 && static_cast<size_t>(i) < enc.size());
        FUZZ_CHECK(!enc.special_tokens_mask[i] && enc.attention_mask[i]);
        FUZZ_CHECK(++owner[i] == 1);
      }
    }
    const std::vector<int32_t> original = enc.ids;
    const std::vector<int32_t> labels = ernie::mask_encoding(tok, enc, units, o, mode, size);
    FUZZ_CHECK(labels.size() == enc.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      FUZZ_CHECK(labels[i] == -100 || (labels[i] == original[i] && owner[i] == 1));
      if (labels[i] == -100) FUZZ_CHECK(enc.ids[i] == original[i]);
      FUZZ_CHECK(enc.ids[i] >= 0 && static_cast<size_t>(enc.ids[i]) < tok.vocab().size());
    }
  } catch (const ernie::Error&) {   // a span outside the text, or an input the tokenizer refuses
  }
  return 0;
}

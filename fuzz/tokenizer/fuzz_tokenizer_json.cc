// libFuzzer target: the files that define a tokenizer. The input is split at its first NUL into
// two documents: the first read as an HF tokenizer.json, the second as a jieba dictionary, and the
// text after a second NUL is tokenized and segmented with whatever loaded. Bad files must end in
// ernie::Error naming what is wrong; anything else escaping is a finding.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "ernie/error.h"
#include "ernie/segmenter.h"
#include "ernie/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut1 = in.find('\0');
  const std::string_view json = in.substr(0, cut1);
  std::string_view dict, text;
  if (cut1 != std::string_view::npos) {
    dict = in.substr(cut1 + 1);
    const size_t cut2 = dict.find('\0');
    if (cut2 != std::string_view::npos) text = dict.substr(cut2 + 1), dict = dict.substr(0, cut2);
  }

  std::optional<ernie::Tokenizer> tok;
  try {
    tok.emplace(ernie::Tokenizer::parse_tokenizer_json(json, "fuzz.json"));
  } catch (const ernie::Error&) {
  }
  if (tok) {
    try {
      const ernie::Encoding e = tok->encode(text);
      FUZZ_CHECK(e.ids.size() == e.offsets.size());
      for (const int32_t id : e.ids) FUZZ_CHECK(id >= 0 && id < static_cast<int32_t>(tok->vocab().size()));
      (void)tok->decode(e.ids);
    } catch (const ernie::Error&) {   // invalid UTF-8 in the text
    }
  }

  try {
    ernie::Segmenter seg = ernie::Segmenter::parse(dict, "fuzz.dict");
    std::string joined;
    for (const std::string& w : seg.cut(text)) joined += w;
    FUZZ_CHECK(joined == text);   // the words of a text put back together are the text
  } catch (const ernie::Error&) {
  }
  return 0;
}

// The tokenizer against ../shared/data/tokenizer-vectors: 46 inputs with ids produced by Hugging
// Face's tokenizer (bert-base-uncased) and the unit-test vectors of Google BERT, HF transformers
// and PaddleNLP (ERNIE 1.0 ids included). Expected values come from those files only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ernie/tokenizer.h"
#include "test_util.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece.h"

using namespace ernie;
using nlohmann::json;

namespace {

std::filesystem::path data() { return ernie::testing::shared_dir() / "data"; }
json load(const std::string& name) {
  return json::parse(ernie::testing::read_file(data() / "tokenizer-vectors" / name));
}
std::vector<std::string> token_strings(const Tokenizer& t, const std::vector<Piece>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(t.vocab().token(p.id));
  return out;
}
std::vector<int32_t> ids_of(const std::vector<Piece>& ps) {
  std::vector<int32_t> out;
  for (const auto& p : ps) out.push_back(p.id);
  return out;
}
// A case's vocab: an inline list or the name of a shared vocab file ("" when not shipped).
std::optional<Vocab> case_vocab(const json& c) {
  if (!c.contains("vocab")) return std::nullopt;
  if (c["vocab"].is_array()) return Vocab::from_tokens(c["vocab"].get<std::vector<std::string>>());
  const auto path = data() / c["vocab"].get<std::string>();
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  return Vocab::load(path);
}
TokenizerOptions case_options(const json& c) {
  TokenizerOptions o;
  o.lowercase = c.value("do_lower_case", true);
  if (c.contains("strip_accents") && c["strip_accents"].is_boolean()) o.strip_accents = c["strip_accents"].get<bool>();
  o.handle_chinese_chars = c.value("tokenize_chinese_chars", true);
  return o;
}

}  // namespace

TEST(TokenizerVectors, HfBertBaseUncased46) {
  SKIP_WITHOUT_SHARED();
  const json v = load("bert_uncased_llamacpp_vectors.json");
  const Tokenizer t = Tokenizer::from_vocab_file(data() / "bert-base-uncased-vocab" / "vocab.txt");
  ASSERT_EQ(v["cases"].size(), 46u);
  for (const auto& c : v["cases"]) {
    const auto pieces = t.tokenize(c["text"].get<std::string>());
    EXPECT_EQ(ids_of(pieces), c["ids"].get<std::vector<int32_t>>()) << c["text"];
    EXPECT_EQ(token_strings(t, pieces), c["tokens"].get<std::vector<std::string>>()) << c["text"];
  }
}

TEST(TokenizerVectors, UnitTestVectors) {
  SKIP_WITHOUT_SHARED();
  const json v = load("wordpiece_unit_test_vectors.json");
  int checked = 0;
  for (const auto& g : v["groups"]) {
    for (const auto& c : g["cases"]) {
      const std::string name = g["origin"]["repo"].get<std::string>() + ":" + c.value("name", std::string());
      SCOPED_TRACE(name);
      const TokenizerOptions o = case_options(c);
      if (c.contains("is_whitespace_true")) {   // char classes
        using namespace ernie::tokenizer;
        auto cp = [](const std::string& s) {
          char32_t c32 = 0;
          utf8_decode(reinterpret_cast<const unsigned char*>(s.data()), 0, s.size(), c32);
          return c32;
        };
        for (const auto& s : c["is_whitespace_true"]) EXPECT_TRUE(char_flags(cp(s)) & kSpace) << s;
        for (const auto& s : c["is_whitespace_false"]) EXPECT_FALSE(char_flags(cp(s)) & kSpace) << s;
        for (const auto& s : c["is_control_true"]) EXPECT_TRUE(char_flags(cp(s)) & kDrop) << s;
        for (const auto& s : c["is_control_false"]) EXPECT_FALSE(char_flags(cp(s)) & kDrop) << s;
        for (const auto& s : c["is_punctuation_true"]) EXPECT_TRUE(char_flags(cp(s)) & kPunct) << s;
        for (const auto& s : c["is_punctuation_false"]) EXPECT_FALSE(char_flags(cp(s)) & kPunct) << s;
        ++checked;
        continue;
      }
      if (c.value("remove_control_chars", true) == false) continue;   // a slow-tokenizer-only switch
      if (c.contains("splits")) {   // BertPreTokenizer alone (cased)
        TokenizerOptions cased;
        cased.lowercase = false;
        std::vector<std::string> tokens;
        for (const auto& s : c["splits"]) tokens.push_back(s);
        tokens.push_back("[UNK]");
        const Tokenizer t(Vocab::from_tokens(tokens), cased);
        EXPECT_EQ(token_strings(t, t.tokenize(c["input"].get<std::string>())), c["splits"].get<std::vector<std::string>>());
        ++checked;
        continue;
      }
      if (c.value("basic_only", false)) {
        // The basic tokenizer's words: a vocab holding exactly them makes WordPiece keep them whole.
        std::vector<std::string> tokens = {"[UNK]", "[CLS]", "[SEP]"};
        for (const auto& s : c["tokens"]) tokens.push_back(s);
        const Tokenizer t(Vocab::from_tokens(tokens), o);
        EXPECT_EQ(token_strings(t, t.tokenize(c["input"].get<std::string>())), c["tokens"].get<std::vector<std::string>>());
        ++checked;
        continue;
      }
      const auto vocab = case_vocab(c);
      if (c.contains("vocab_size")) {   // PaddleNLP vocab facts for ERNIE 1.0
        const Vocab ernie = Vocab::load(data() / "ernie-1.0-vocab" / "vocab.txt");
        EXPECT_EQ(ernie.entries(), c["vocab_size"].get<size_t>());
        for (const auto& [tok, id] : c["first_ids"].items()) EXPECT_EQ(ernie.id(tok), id.get<int32_t>()) << tok;
        ++checked;
        continue;
      }
      if (c.value("name", std::string()) == "wordpiece_only_no_pretokenize") {   // ERNIE 1.0 WordPiece on one word
        const Vocab ernie = Vocab::load(data() / "ernie-1.0-vocab" / "vocab.txt");
        const ernie::tokenizer::WordPiece wp(ernie, TokenizerOptions{});
        const std::string in = c["input"];
        std::vector<ernie::tokenizer::NormChar> chars;
        for (size_t i = 0; i < in.size();) {
          char32_t c32;
          const int len = ernie::tokenizer::utf8_decode(reinterpret_cast<const unsigned char*>(in.data()), i, in.size(), c32);
          chars.push_back({c32, static_cast<uint32_t>(i), static_cast<uint32_t>(i + len), 0, false, false});
          i += static_cast<size_t>(len);
        }
        std::vector<Piece> ps;
        wp.encode_word(chars.data(), chars.size(), ps);
        EXPECT_EQ(ids_of(ps), c["ids"].get<std::vector<int32_t>>());
        std::vector<std::vector<uint32_t>> offs;
        for (const auto& p : ps) offs.push_back({p.begin, p.end});
        EXPECT_EQ(offs, c["byte_offsets"].get<std::vector<std::vector<uint32_t>>>());
        ++checked;
        continue;
      }
      if (!c.contains("input") && !c.contains("inputs")) continue;   // rules and notes
      std::optional<Vocab> v2 = vocab;
      if (!v2 && g["origin"]["path"].get<std::string>().find("fast_tokenizer") != std::string::npos)
        v2 = Vocab::load(data() / "ernie-1.0-vocab" / "vocab.txt");   // the ERNIE fast-tokenizer cases
      if (!v2) continue;   // bert-base-cased is not shipped
      const Tokenizer t(*v2, o);
      if (c.contains("inputs")) {
        for (size_t i = 0; i < c["inputs"].size(); ++i)
          EXPECT_EQ(token_strings(t, t.tokenize(c["inputs"][i].get<std::string>())),
                    c["tokens_each"][i].get<std::vector<std::string>>());
        ++checked;
        continue;
      }
      const std::string in = c["input"];
      const bool with_specials = c.value("add_special_tokens", false) || c.contains("type_ids");
      if (with_specials) {
        const Encoding e = t.encode(in);
        std::vector<std::string> toks;
        for (int32_t id : e.ids) toks.push_back(t.vocab().token(id));
        EXPECT_EQ(toks, c["tokens"].get<std::vector<std::string>>());
        if (c.contains("ids")) {
          EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>());
        }
        if (c.contains("type_ids")) {
          EXPECT_EQ(e.type_ids, c["type_ids"].get<std::vector<int32_t>>());
        }
        if (c.contains("char_offsets")) {
          std::vector<std::vector<uint32_t>> offs;
          for (const auto& [b, en] : e.char_offsets(in)) offs.push_back({b, en});
          EXPECT_EQ(offs, c["char_offsets"].get<std::vector<std::vector<uint32_t>>>());
        }
      } else {
        const auto ps = t.tokenize(in);
        EXPECT_EQ(token_strings(t, ps), c["tokens"].get<std::vector<std::string>>());
        if (c.contains("ids")) {
          EXPECT_EQ(ids_of(ps), c["ids"].get<std::vector<int32_t>>());
        }
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 25);
  std::cout << "checked " << checked << " vector cases\n";
}

TEST(TokenizerVectors, ErnieSequenceBuilders) {
  SKIP_WITHOUT_SHARED();
  const Tokenizer ernie = Tokenizer::from_vocab_file(data() / "ernie-1.0-vocab" / "vocab.txt");
  const Encoding e = ernie.encode_pair("今天", "天气");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{1, 508, 125, 2, 125, 266, 2}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1}));
  const Tokenizer bert = Tokenizer::from_vocab_file(data() / "bert-base-uncased-vocab" / "vocab.txt");
  EXPECT_EQ(bert.encode("hello").ids.front(), 101);
  EXPECT_EQ(bert.encode("hello").ids.back(), 102);
  // ERNIE 3.0 lists '$' twice: the last id wins, as in HF and PaddleNLP.
  const Vocab v3 = Vocab::load(data() / "ernie-3.0-base-vocab" / "vocab.txt");
  EXPECT_EQ(v3.id("$"), 18005);
  EXPECT_EQ(v3.entries(), 39979u);
  // bert-base-chinese has U+2028 as a token: lines split on '\n' only.
  const Vocab zh = Vocab::load(data() / "bert-base-chinese-vocab" / "vocab.txt");
  EXPECT_EQ(zh.size(), 21128u);
  EXPECT_GE(zh.id("\xE2\x80\xA8"), 0);
}

// Tokenizer edge cases that need no ../shared data: vocab formats, the BERT pipeline on odd
// input, encoding (pairs, truncation, padding, offsets, batches), loading, and the CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ernie/error.h"
#include "ernie/tokenizer.h"
#include "ernie/vocab_trainer.h"
#include "test_util.h"

using namespace ernie;
using ernie::testing::read_file;
using ernie::testing::run_cli;
using ernie::testing::TempDir;
using ernie::testing::write_file;

namespace {

const std::vector<std::string> kVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "un", "##want", "##ed", "runn",
    "##ing", ",", ".", "!", "a", "##a", "x", "##x", "中", "国", "cafe", "café", "ｈｅｌｌｏ", "😀", "naive", "na",
    "##ïve", "##ive", "i", "\xCC\x87", "##\xCC\x87", "hallo", "[", "]", "mask"};

Tokenizer make(bool lower = true) {
  TokenizerOptions o;
  o.lowercase = lower;
  return Tokenizer(Vocab::from_tokens(kVocab), o);
}

std::vector<std::string> tokens(const Tokenizer& t, std::string_view text, Utf8Errors e = Utf8Errors::Strict) {
  std::vector<std::string> out;
  for (const Piece& p : t.tokenize(text, e)) out.push_back(t.vocab().token(p.id));
  return out;
}

using Strs = std::vector<std::string>;

}  // namespace

TEST(Vocab, PlainFormatSplitsOnNewlineOnly) {
  // U+2028 is a token of bert-base-chinese; '\r\n' endings and a missing final newline are fine.
  const Vocab v = Vocab::parse("[PAD]\r\n\xE2\x80\xA8\r\nb\nc");
  EXPECT_EQ(v.size(), 4u);
  EXPECT_EQ(v.id("\xE2\x80\xA8"), 1);
  EXPECT_EQ(v.id("b"), 2);
  EXPECT_EQ(v.id("c"), 3);
}

TEST(Vocab, TabFormatAndDuplicatesLastWins) {
  const Vocab v = Vocab::parse("[PAD]\t0\n$\t1\nx\t2\n$\t3");   // ERNIE 3.0 lists '$' twice
  EXPECT_EQ(v.id("$"), 3);
  EXPECT_EQ(v.token(1), "$");
  EXPECT_EQ(v.size(), 4u);
  EXPECT_THROW(Vocab::parse("a\t0\nb\n"), Error);                // mixed formats name the line
  EXPECT_THROW(Vocab::parse(""), Error);
  EXPECT_THROW(Vocab::parse("a\t0\nb\t99999999\n"), Error);     // sparse ids would allocate gigabytes
  const Vocab p = Vocab::parse("a\nb\na\n");                      // plain duplicates: last wins too
  EXPECT_EQ(p.id("a"), 2);
}

TEST(Tokenizer, EmptyWhitespaceAndControlOnly) {
  const Tokenizer t = make();
  EXPECT_TRUE(t.tokenize("").empty());
  EXPECT_TRUE(t.tokenize(" \t\r \xC2\xA0\xE3\x80\x80\xE2\x80\xA8").empty());   // incl. NBSP, U+3000, U+2028
  EXPECT_TRUE(t.tokenize(std::string("\x01\x02\x7f\x00\xC2\x85\xE2\x80\x8B\xEF\xBF\xBD", 13)).empty());
  const Encoding e = t.encode("");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 3}));
}

TEST(Tokenizer, BasicPipeline) {
  const Tokenizer t = make();
  EXPECT_EQ(tokens(t, "UNwantéd,running"), (Strs{"un", "##want", "##ed", ",", "runn", "##ing"}));
  EXPECT_EQ(tokens(t, " Hello\tworld!! "), (Strs{"hello", "world", "!", "!"}));
  EXPECT_EQ(tokens(t, "中国a"), (Strs{"中", "国", "a"}));
  EXPECT_EQ(tokens(t, "CAFÉ"), (Strs{"cafe"}));                  // NFD + Mn stripping when uncased
  EXPECT_EQ(tokens(make(false), "café"), (Strs{"café"}));         // cased keeps accents
  EXPECT_EQ(tokens(t, "na\xC3\xAFve"), (Strs{"naive"}));
  EXPECT_EQ(tokens(t, "ｈｅｌｌｏ"), (Strs{"ｈｅｌｌｏ"}));             // full-width: no NFKC in BERT
  EXPECT_EQ(tokens(t, "😀a"), (Strs{"😀", "##a"}));                 // emoji is not punctuation
  EXPECT_EQ(tokens(t, "a😀"), (Strs{"[UNK]"}));
  EXPECT_EQ(tokens(t, "xyz"), (Strs{"[UNK]"}));                    // unmatchable rest: whole word
}

// Words for tagging: whitespace (incl. U+3000) separates, each CJK ideograph stands alone, other
// characters stay in their word; an invalid byte stays too (encode_words reports it).
TEST(Tokenizer, SplitWordsForTagging) {
  EXPECT_EQ(Tokenizer::split_words("Anna Smith去了 U.S.\xE3\x80\x80北京, ok"),
            (Strs{"Anna", "Smith", "去", "了", "U.S.", "北", "京", ",", "ok"}));
  EXPECT_EQ(Tokenizer::split_words(" \t "), Strs{});
  EXPECT_EQ(Tokenizer::split_words("ab\xFF" "cd 中"), (Strs{"ab\xFF" "cd", "中"}));
}

TEST(Tokenizer, CombiningMarksAndCanonicalOrder) {
  const Tokenizer t = make();
  // Stacks of marks are stripped whatever their order; a lone mark vanishes.
  EXPECT_EQ(tokens(t, "a\xCC\x81\xCC\x96\xCC\x80 \xCC\x81"), (Strs{"a"}));
  // U+0130 lowercases to i + U+0307 when accents are kept (Rust's char::to_lowercase).
  TokenizerOptions o;
  o.strip_accents = false;
  const Tokenizer keep(Vocab::from_tokens(kVocab), o);
  EXPECT_EQ(tokens(keep, "\xC4\xB0"), (Strs{"i", "##\xCC\x87"}));
  EXPECT_EQ(tokens(t, "\xC4\xB0"), (Strs{"i"}));
}

TEST(Tokenizer, EveryCjkRangeIsSplit) {
  // BertNormalizer's ranges (HF's list: the gap block starts at U+2B920).
  const char32_t edges[][2] = {{0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
                               {0x2B740, 0x2B81F}, {0x2B920, 0x2CEAF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F}};
  auto utf8 = [](char32_t c) {
    std::string s;
    if (c < 0x10000) {
      s += static_cast<char>(0xE0 | (c >> 12));
    } else {
      s += static_cast<char>(0xF0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    }
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
    return s;
  };
  const Tokenizer t = make(false);
  for (const auto& r : edges)
    for (char32_t c : {r[0], r[1]}) {
      const auto pieces = t.tokenize("a" + utf8(c) + "a");
      EXPECT_EQ(pieces.size(), 3u) << std::hex << static_cast<uint32_t>(c);
    }
  EXPECT_EQ(t.tokenize("a" + utf8(0x2B820) + "a").size(), 1u);   // not in HF's list
  EXPECT_EQ(t.tokenize("a" + utf8(0x3040) + "a").size(), 1u);    // hiragana is not CJK here
}

TEST(Tokenizer, LongWordsBecomeOneUnknown) {
  const Tokenizer t = make();
  const std::string w100(100, 'x'), w101(101, 'x'), w10k(10000, 'x');
  EXPECT_EQ(t.tokenize(w100).size(), 100u);   // x ##x ##x ...
  const auto p = t.tokenize(w101 + " a");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].id, t.unk_id());
  EXPECT_EQ(p[0].end, 101u);
  EXPECT_EQ(t.tokenize(w10k).size(), 1u);
}

TEST(Tokenizer, InvalidUtf8) {
  const Tokenizer t = make();
  try {
    t.tokenize("hello \xFF world");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8 at byte 6"), std::string::npos) << e.what();
  }
  for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE4\xB8", "\x80"})
    EXPECT_THROW(t.tokenize(bad), Error) << bad;
  EXPECT_EQ(tokens(t, "hello\xFFworld", Utf8Errors::Replace), tokens(t, "helloworld"));
  const auto p = t.tokenize("\xFFhello", Utf8Errors::Replace);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].begin, 1u);   // offsets still index the original bytes
}

TEST(Tokenizer, SpecialTokensInText) {
  const Tokenizer t = make();
  EXPECT_EQ(tokens(t, "hello [MASK]world"), (Strs{"hello", "[MASK]", "world"}));
  TokenizerOptions o;
  o.split_special_tokens = true;
  const Tokenizer s(Vocab::from_tokens(kVocab), o);
  EXPECT_EQ(tokens(s, "[MASK]"), (Strs{"[", "mask", "]"}));
}

TEST(Encoding, PairsOffsetsAndTypes) {
  const Tokenizer t = make();
  const std::string a = "Héllo, world", b = "中国";
  const Encoding e = t.encode_pair(a, b);
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 5, 13, 6, 3, 20, 21, 3}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<int32_t>{1, 0, 0, 0, 1, 0, 0, 1}));
  using O = std::vector<std::pair<uint32_t, uint32_t>>;
  EXPECT_EQ(e.offsets, (O{{0, 0}, {0, 6}, {6, 7}, {8, 13}, {0, 0}, {0, 3}, {3, 6}, {0, 0}}));
  EXPECT_EQ(e.char_offsets(a, b), (O{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {0, 0}, {0, 1}, {1, 2}, {0, 0}}));
}

TEST(Encoding, TruncationLikeHf) {
  // HF tokenizers' truncate_encodings test table (max 7 without specials): (n1, n2) -> kept.
  const Tokenizer t = make();
  auto text = [](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += "a ";
    return s;
  };
  const size_t cases[][4] = {{0, 8, 0, 7}, {2, 8, 2, 5}, {4, 4, 3, 4}, {4, 8, 3, 4}, {8, 2, 5, 2}, {8, 4, 4, 3}, {8, 8, 3, 4}};
  EncodeOptions o;
  o.max_length = 7 + 3;
  for (const auto& c : cases) {
    const Encoding e = t.encode_pair(text(c[0]), text(c[1]), o);
    size_t n1 = 0, n2 = 0;
    for (auto s : e.sequence_ids) (s == 0 ? n1 : s == 1 ? n2 : n1) += s >= 0;
    EXPECT_EQ(n1, c[2]) << c[0] << "," << c[1];
    EXPECT_EQ(n2, c[3]) << c[0] << "," << c[1];
  }
  o.truncation = Truncation::OnlySecond;
  EXPECT_EQ(t.encode_pair(text(2), text(20), o).size(), 10u);
  EXPECT_THROW(t.encode_pair(text(20), text(2), o), Error);   // second too short
  EXPECT_THROW(t.encode(text(20), o), Error);                 // no second sequence
  o.truncation = Truncation::OnlyFirst;
  EXPECT_EQ(t.encode_pair(text(20), text(2), o).size(), 10u);
  o.max_length = 1;
  EXPECT_THROW(t.encode(text(3), o), Error);
}

TEST(Encoding, PaddingAndBatches) {
  const Tokenizer t = make();
  EncodeOptions o;
  o.padding = Padding::Longest;
  std::vector<std::string> texts;
  for (int i = 0; i < 500; ++i) texts.push_back(std::string(static_cast<size_t>(i % 7), 'a') + " hello");
  std::vector<std::string_view> views(texts.begin(), texts.end());
  const auto batch = t.encode_batch(views, o, 4);
  ASSERT_EQ(batch.size(), 500u);
  for (size_t i = 0; i < texts.size(); ++i) {
    const Encoding one = t.encode(texts[i]);
    EXPECT_EQ(batch[i].size(), batch[0].size());
    EXPECT_EQ(std::vector<int32_t>(batch[i].ids.begin(), batch[i].ids.begin() + one.size()), one.ids);
    EXPECT_EQ(std::count(batch[i].attention_mask.begin(), batch[i].attention_mask.end(), 1), static_cast<long>(one.size()));
  }
  o.padding = Padding::MaxLength;
  o.max_length = 16;
  EXPECT_EQ(t.encode("hello", o).size(), 16u);
  EXPECT_EQ(t.encode("hello", o).ids.back(), t.pad_id());
  // An error names the first failing line.
  views[7] = "\xFF";
  try {
    t.encode_batch(views, {}, 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("line 8: invalid UTF-8", 0), 0u) << e.what();
  }
}

TEST(Loading, TokenizerJsonAndFolder) {
  TempDir d;
  nlohmann::json j = {{"version", "1.0"},
                      {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", false}, {"clean_text", true}}},
                      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
                      {"post_processor", {{"type", "BertProcessing"}, {"cls", {"[CLS]", 2}}, {"sep", {"[SEP]", 3}}}},
                      {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"vocab", nlohmann::json::object()}}}};
  for (size_t i = 0; i < kVocab.size(); ++i) j["model"]["vocab"][kVocab[i]] = i;
  write_file(d / "tokenizer.json", j.dump());
  const Tokenizer t = Tokenizer::from_folder(d.path());
  EXPECT_FALSE(t.options().lowercase);
  EXPECT_EQ(t.encode("café").ids, (std::vector<int32_t>{2, 23, 3}));
  j["model"]["type"] = "BPE";
  write_file(d / "tokenizer.json", j.dump());
  try {
    Tokenizer::from_folder(d.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'BPE' is not supported"), std::string::npos) << e.what();
  }
  std::filesystem::remove(d / "tokenizer.json");
  std::string vocab;
  for (const auto& tok : kVocab) vocab += tok + "\n";
  write_file(d / "vocab.txt", vocab);
  write_file(d / "tokenizer_config.json", R"({"do_lower_case": false, "mask_token": {"content": "[MASK]"}})");
  EXPECT_FALSE(Tokenizer::from_folder(d.path()).options().lowercase);
  std::filesystem::remove(d / "tokenizer_config.json");
  EXPECT_TRUE(Tokenizer::from_folder(d.path()).options().lowercase);
}

// A field of the wrong type is an ernie::Error naming the key (it was nlohmann's type_error, which
// names neither file nor key); two tokens with one id would shift every later id.
TEST(Loading, MalformedTokenizerJsonNamesTheKey) {
  const auto base = [] {
    return nlohmann::json::parse(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3}},
                                    "normalizer": {"type": "BertNormalizer"}})");
  };
  ASSERT_EQ(Tokenizer::parse_tokenizer_json(base().dump()).encode("a").ids, (std::vector<int32_t>{1, 3, 2}));
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](auto& j) { j["model"]["unk_token"] = 5; }, "t.json: model: \"unk_token\" must be a string"},
      {[](auto& j) { j["model"]["type"] = 1; }, "t.json: model: \"type\" must be a string"},
      {[](auto& j) { j["model"]["max_input_chars_per_word"] = -1; }, "t.json: model.max_input_chars_per_word must be a non-negative integer"},
      {[](auto& j) { j["normalizer"]["lowercase"] = "yes"; }, "t.json: normalizer: \"lowercase\" must be true or false"},
      {[](auto& j) { j["normalizer"] = "BertNormalizer"; }, "t.json: \"normalizer\" must be an object"},
      {[](auto& j) { j["post_processor"] = {{"type", "BertProcessing"}, {"cls", {1, 2}}}; }, "t.json: post_processor.cls must be [token, id]"},
      {[](auto& j) { j["padding"] = {{"pad_token", false}}; }, "t.json: padding: \"pad_token\" must be a string"},
      {[](auto& j) { j["model"]["vocab"]["b"] = 3; }, "t.json: vocab id 3 is given to both 'a' and 'b'"},
      {[](auto& j) { j = nlohmann::json::array(); }, "t.json: no \"model\" object"},
  };
  for (const auto& [mutate, message] : cases) {
    nlohmann::json j = base();
    mutate(j);
    try {
      Tokenizer::parse_tokenizer_json(j.dump(), "t.json");
      ADD_FAILURE() << "accepted " << j;
    } catch (const Error& e) {
      EXPECT_EQ(e.what(), message) << j;
    }
  }
}

TEST(VocabTrain, LearnsFrequentWords) {
  std::vector<std::string_view> corpus(50, "the thinking thing thinks, the thin thing");
  VocabTrainOptions o;
  o.vocab_size = 40;
  const Vocab v = train_wordpiece(corpus, o);
  EXPECT_EQ(v.id("[PAD]"), 0);
  EXPECT_EQ(v.id("[UNK]"), 1);
  EXPECT_GE(v.id("##h"), 0);
  EXPECT_GE(v.id("th"), 0);
  EXPECT_LE(v.size(), 40u);
  const Tokenizer t(v, {});
  EXPECT_EQ(t.tokenize("the thinking").size() <= 4, true);
}

TEST(TokenizeCli, JsonLinesPairsAndErrors) {
  TempDir d;
  std::string vocab;
  for (const auto& tok : kVocab) vocab += tok + "\n";
  write_file(d / "vocab.txt", vocab);
  const std::string v = "--vocab '" + (d / "vocab.txt").string() + "'";
  auto r = run_cli("tokenize " + v, "Hello world\n\n中国\n");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<nlohmann::json> lines;
  for (size_t pos = 0; pos < r.out.size();) {
    const size_t nl = r.out.find('\n', pos);
    lines.push_back(nlohmann::json::parse(r.out.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["input_ids"], nlohmann::json({2, 5, 6, 3}));
  EXPECT_EQ(lines[0]["tokens"], nlohmann::json({"[CLS]", "hello", "world", "[SEP]"}));
  EXPECT_EQ(lines[0]["offsets"][2], nlohmann::json({6, 11}));
  EXPECT_EQ(lines[1]["input_ids"], nlohmann::json({2, 3}));
  EXPECT_EQ(lines[2]["byte_offsets"][2], nlohmann::json({3, 6}));
  EXPECT_EQ(lines[2]["offsets"][2], nlohmann::json({1, 2}));

  r = run_cli("tokenize " + v + " --pair --ids-only", "hello\tworld\n");
  EXPECT_EQ(r.out, "[2,5,3,6,3]\n");
  r = run_cli("tokenize " + v + " --pair", "no tab here\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
  r = run_cli("tokenize " + v + " --ids-only", "hello\nok\nbad \xFE byte\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("line 3: invalid UTF-8"), std::string::npos) << r.err;
  r = run_cli("tokenize " + v + " --ids-only --errors replace", "hello\nbad\xFE\n");
  EXPECT_EQ(r.status, 0) << r.err;
  r = run_cli("tokenize " + v + " --ids-only --max-len 3 --padding max_length", "hello world\n");
  EXPECT_EQ(r.out, "[2,5,3]\n");
}

TEST(ClassifyCli, LabelsFromId2Label) {
  // A tiny fixture classifier with a generated vocab of its vocab_size (120).
  TempDir d;
  const auto fx = ernie::testing::fixtures_dir() / "ernie_relu_seqcls";
  std::filesystem::copy(fx / "config.json", d / "config.json");
  std::filesystem::copy(fx / "model.safetensors", d / "model.safetensors");
  std::string vocab = "[PAD]\n[CLS]\n[SEP]\n[UNK]\n[MASK]\n";
  for (int i = 5; i < 120; ++i) vocab += std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i) + "\n";
  write_file(d / "vocab.txt", vocab);
  const std::string m = "--model '" + d.path().string() + "'";
  auto r = run_cli("classify " + m + " 'a5 b6' 'c7'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  EXPECT_EQ(r.out.rfind("LABEL_", 0), 0u) << r.out;
  r = run_cli("classify " + m + " --json --top-k 2", "a5 b6\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["top"].size(), 2u);
  double sum = 0;
  for (const auto& [k, p] : j["scores"].items()) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_EQ(j["label"], j["top"][0]["label"]);
}

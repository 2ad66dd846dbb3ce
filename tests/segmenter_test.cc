// ernie::Segmenter against jieba 0.42 (`jieba.lcut(text, HMM=False)`): hand-made dictionaries
// whose segmentations are derived by hand below (DAG, then route from the end with
// L = log(total)), then agreement with jieba itself on the THUCNews titles and on odd texts.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ernie/error.h"
#include "ernie/segmenter.h"
#include "test_util.h"

using namespace ernie;
using ernie::testing::error_of;
using ernie::testing::read_file;
using ernie::testing::TempDir;
using ernie::testing::write_file;
using Strs = std::vector<std::string>;

TEST(Segmenter, RouteTakesTheMostProbablePath) {
  // total 360. DAG of 北0 京1 大2 学3 生4: 0:[1 北京, 3 北京大学] (北, 北京大 are prefixes,
  // freq 0), 1:[1], 2:[3 大学, 4 大学生], 3:[4 学生], 4:[4].
  // r4 = -L; r3 = log100 - L; r2 = max(log100 - 2L @3, log10 - L @4) = log10 - L @4 (L > log10);
  // r0 = max(log100 - L + r2 = log1000 - 2L @1, log50 - L + r4 = log50 - 2L @3) -> 北京 @1.
  const Segmenter s = Segmenter::parse("北京 100\n大学 100\n大学生 10\n学生 100\n北京大学 50 nt\n");
  EXPECT_EQ(s.total(), 360);
  EXPECT_EQ(s.frequency("北京大"), 0);   // a prefix
  EXPECT_EQ(s.frequency("京"), -1);      // unknown
  EXPECT_EQ(s.cut("北京大学生"), (Strs{"北京", "大学生"}));
}

TEST(Segmenter, TiesGoToTheLongerWord) {
  // 甲 10, 乙 10, 甲乙 1, filler 丁. DAG 0:[0 甲, 1 甲乙], 1:[1]. r1 = log10 - L;
  // r0 = max((log10 - L) + r1 @0, log1 - L @1). With total 100, L = log100 = 2·log10 exactly in
  // doubles (doubling is exact), so both are -2·log10 bit for bit and jieba's max over
  // (logprob, x) tuples takes the larger x. Total 99 tips it to 甲/乙, 101 to 甲乙.
  EXPECT_EQ(Segmenter::parse("甲 10 n\n乙 10\n甲乙 1\n丁 79\n").cut("甲乙"), (Strs{"甲乙"}));
  EXPECT_EQ(Segmenter::parse("甲 10 n\n乙 10\n甲乙 1\n丁 78\n").cut("甲乙"), (Strs{"甲", "乙"}));
  EXPECT_EQ(Segmenter::parse("甲 10 n\n乙 10\n甲乙 1\n丁 80\n").cut("甲乙"), (Strs{"甲乙"}));
}

TEST(Segmenter, ASingleCharacterIsACandidateOnlyWhenNothingElseIs) {
  // 中国 1, 国人 1000, total 10000. 中 is only a prefix (freq 0), so DAG 0:[1] and 中/国人
  // (log1000 - 2L) is not reachable; 中国/人 (-2L) is the only route (get_DAG adds k only
  // when no word starts at k). With 中 added at 1, DAG 0:[0, 1] and 中/国人 wins.
  Segmenter s = Segmenter::parse("中国 1\n国人 1000\n丁 8999\n");
  EXPECT_EQ(s.cut("中国人"), (Strs{"中国", "人"}));
  s.add_word("中", 1);
  EXPECT_EQ(s.total(), 10001);
  EXPECT_EQ(s.cut("中国人"), (Strs{"中", "国人"}));
  s.add_word("中", 0);   // del_word: back to a prefix, the total keeps what it had
  EXPECT_EQ(s.cut("中国人"), (Strs{"中国", "人"}));
}

TEST(Segmenter, LettersAndDigitsAreGluedUnlessAWordTakesThem) {
  // abc123中文: a0 b1 c2 1₃ 2₄ 3₅ 中6 文7. c is a prefix of c1, so DAG 2:[3] (c1 forced); the
  // other ASCII characters are single and glued by re_eng into runs around it.
  const Segmenter s = Segmenter::parse("中文 10\nc1 100\nc++ 5\n〇年 5\n");
  EXPECT_EQ(s.cut("abc123中文"), (Strs{"ab", "c1", "23", "中文"}));
  EXPECT_EQ(s.cut("xyz123中文"), (Strs{"xyz123", "中文"}));
  // '+' '.' are in re_han: c++ is a word, '.' a single non-re_eng character of its own.
  EXPECT_EQ(s.cut("c++."), (Strs{"c++", "."}));
  EXPECT_EQ(s.cut("3.14"), (Strs{"3", ".", "14"}));
  // 〇 (U+3007) is outside re_han's U+4E00..U+9FD5: the dictionary word 〇年 never matches.
  EXPECT_EQ(s.cut("〇年"), (Strs{"〇", "年"}));
}

TEST(Segmenter, OutsideBlocksEveryCharacterIsAlone) {
  // re_skip splits on each \s (and \r\n as one); other characters are yielded one by one.
  const Segmenter s = Segmenter::parse("中文 10\n");
  EXPECT_EQ(s.cut("中文，English text!\r\n  下一行\u3000x\u2028y😀z"),
            (Strs{"中文", "，", "English", " ", "text", "!", "\r\n", " ", " ", "下", "一", "行", "\u3000", "x",
                  "\u2028", "y", "😀", "z"}));
  EXPECT_EQ(s.cut("\r\r\n"), (Strs{"\r", "\r\n"}));
  EXPECT_EQ(s.cut("a\tb"), (Strs{"a", "\t", "b"}));
  EXPECT_EQ(s.cut(""), Strs{});
  std::vector<std::string_view> views;
  const std::string text = "中文 ab";
  s.cut(text, views);
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[2].data(), text.data() + 7);   // views point into the text
}

TEST(Segmenter, AddWordWithoutFrequencySuggestsOne) {
  // suggest_freq(甲乙): cut = 甲/乙, P = 50/100 · 40/100 = 0.2, int(0.2 · 100) + 1 = 21.
  Segmenter s = Segmenter::parse("甲 50\n乙 40\n丁 10\n");
  EXPECT_EQ(s.cut("甲乙"), (Strs{"甲", "乙"}));
  s.add_word("甲乙");
  EXPECT_EQ(s.frequency("甲乙"), 21);
  EXPECT_EQ(s.total(), 121);
  EXPECT_EQ(s.cut("甲乙"), (Strs{"甲乙"}));
}

TEST(Segmenter, UserDictionaryLines) {
  // load_userdict: BOM dropped, `(.+?)( [0-9]+)?( [a-z]+)?` per line. 丙丁 has no frequency:
  // suggest_freq with total 117 at that point: 丙 unknown (1), 丁 10 -> int(1/117 · 10/117 · 117)
  // + 1 = 1. Final total 100 + 7 + 10 + 1 + 4 = 122 = L's argument; 甲/乙 scores
  // log50 + log40 - 2L against 甲乙's log7 - L, and 2000/122 > 7, so 甲乙 is not taken.
  TempDir dir;
  write_file(dir / "user.txt", "\xEF\xBB\xBF甲乙 7 n\nnew york 10 ns\n丙丁\n\n3 4\n");
  Segmenter s = Segmenter::parse("甲 50\n乙 40\n丁 10\n");
  s.load_user_dict(dir / "user.txt");
  EXPECT_EQ(s.frequency("甲乙"), 7);
  EXPECT_EQ(s.frequency("new york"), 10);   // spaces stay in words
  EXPECT_EQ(s.frequency("丙丁"), 1);
  EXPECT_EQ(s.frequency("3"), 4);
  EXPECT_EQ(s.total(), 122);
  EXPECT_EQ(s.cut("甲乙丙丁"), (Strs{"甲", "乙", "丙丁"}));
}

TEST(Segmenter, BadInputIsAnError) {
  EXPECT_NE(error_of([] { Segmenter::parse("a 1\nb\n", "d.txt"); }).find("d.txt:2:"), std::string::npos);
  EXPECT_NE(error_of([] { Segmenter::parse("a 1\n\nb x\n", "d.txt"); }).find("d.txt:3:"), std::string::npos);
  EXPECT_NE(error_of([] { Segmenter::parse("a  1\n", "d.txt"); }).find("d.txt:1:"), std::string::npos);
  EXPECT_NE(error_of([] { Segmenter::parse("a -1\n", "d.txt"); }).find("d.txt:1:"), std::string::npos);
  EXPECT_NE(error_of([] { Segmenter::parse("a\xFF 1\n", "d.txt"); }).find("d.txt:1: invalid UTF-8"),
            std::string::npos);
  EXPECT_NE(error_of([] { Segmenter::parse("a 9223372036854775807\nb 1\n", "d.txt"); }).find("d.txt:2:"),
            std::string::npos);
  EXPECT_NE(error_of([] { Segmenter::from_file("/nonexistent/dict.txt"); }).find("/nonexistent/dict.txt"),
            std::string::npos);
  const Segmenter s = Segmenter::parse("a 1\r\n\r\n  b 2 x  \n");   // blank lines, CRLF, padding
  EXPECT_EQ(s.frequency("b"), 2);
  EXPECT_EQ(error_of([&] { s.cut("ab\xE4\xB8"); }), "segmenter: invalid UTF-8 at byte 2");
  EXPECT_EQ(error_of([&] { s.cut("\xC0\x80"); }), "segmenter: invalid UTF-8 at byte 0");
}

namespace {

bool jieba_available() {
  return std::system("/usr/bin/python3 -c 'import jieba' >/dev/null 2>&1") == 0;
}

// jieba's segmentation of each text, from tools/jieba_reference.py (--json-input).
std::vector<Strs> jieba_cut(const std::vector<std::string>& texts) {
  TempDir dir;
  std::string in;
  for (const auto& t : texts) in += nlohmann::json(t).dump() + "\n";
  write_file(dir / "in.jsonl", in);
  const std::string cmd = "/usr/bin/python3 " + (ernie::testing::source_dir() / "tools" / "jieba_reference.py").string() +
                          " --json-input " + (dir / "in.jsonl").string() + " > " + (dir / "out.jsonl").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<Strs> out;
  std::istringstream lines(read_file(dir / "out.jsonl"));
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line).get<Strs>());
  return out;
}

std::string show(const Strs& words) { return nlohmann::json(words).dump(); }

// Fraction of texts segmented as jieba does; prints the first few differences.
double agreement(const Segmenter& s, const std::vector<std::string>& texts) {
  const std::vector<Strs> ref = jieba_cut(texts);
  EXPECT_EQ(ref.size(), texts.size());
  size_t same = 0, shown = 0;
  for (size_t i = 0; i < ref.size() && i < texts.size(); ++i) {
    const Strs ours = s.cut(texts[i]);
    if (ours == ref[i]) { ++same; continue; }
    if (shown++ < 5)
      std::printf("differs from jieba: %s\n  jieba: %s\n  ours:  %s\n", nlohmann::json(texts[i]).dump().c_str(),
                  show(ref[i]).c_str(), show(ours).c_str());
  }
  return texts.empty() ? 1.0 : static_cast<double>(same) / static_cast<double>(texts.size());
}

}  // namespace

TEST(SegmenterJieba, OddTexts) {
  if (!jieba_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import jieba (apt-get install python3-jieba)";
  const Segmenter s = Segmenter::from_jieba_default();
  const std::vector<std::string> texts = {
      "我来到北京清华大学", "他来到了网易杭研大厦", "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
      "C++和c#是AT&T的？e-mail: a_b@x.com 3.14% 100%", "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f\xC2\x85\xC2\xA0",
      "\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\u200b\ufeff", "一\r\n二\r\r\n三\n\r四", "ＡＢＣ１２３全角",
      "鿕鿖㐀𠀀😀〇中", "iPhone6s和iPad Pro 2代", "20世纪90年代", "  前后空格  ", "", "...---___+++###&&&%%%",
      "Hello,World!你好世界", "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作"};
  EXPECT_EQ(agreement(s, texts), 1.0);
}

TEST(SegmenterJieba, ThucNewsTitles) {
  SKIP_WITHOUT_SHARED();
  if (!jieba_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import jieba (apt-get install python3-jieba)";
  std::vector<std::string> titles;
  for (const char* split : {"test.txt", "dev.txt"}) {
    std::istringstream lines(read_file(ernie::testing::shared_dir() / "data" / "thucnews-10" / split));
    for (std::string line; std::getline(lines, line);) titles.push_back(line.substr(0, line.find('\t')));
  }
  ASSERT_EQ(titles.size(), 20000u);
  const Segmenter s = Segmenter::from_jieba_default();
  const double rate = agreement(s, titles);
  std::printf("identical to jieba on %.3f %% of %zu titles\n", 100 * rate, titles.size());
  EXPECT_GE(rate, 0.999);
}

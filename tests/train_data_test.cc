// Fine-tuning data: TSV and JSON-lines readers, label sets, multi-label and regression targets,
// every error message with FILE:LINE (CoNLL and label alignment: train_data_conll_test.cc).
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "ernie/dataset.h"
#include "ernie/error.h"
#include "test_util.h"
#include "train_data_util.h"

namespace ernie {
namespace {

using ::ernie::testing::error_of;
using ::ernie::testing::TempDir;
using ::ernie::testing::write_file;

TEST(TrainDataTask, NamesRoundTripAndUnknownIsAnError) {
  for (TaskType t : {TaskType::SingleLabel, TaskType::MultiLabel, TaskType::Regression, TaskType::TokenClassification})
    EXPECT_EQ(parse_task_type(task_type_name(t)), t);
  EXPECT_STREQ(task_type_name(TaskType::SingleLabel), "single_label_classification");
  EXPECT_STREQ(task_type_name(TaskType::MultiLabel), "multi_label_classification");
  EXPECT_STREQ(task_type_name(TaskType::Regression), "regression");
  EXPECT_STREQ(task_type_name(TaskType::TokenClassification), "token_classification");
  try {
    parse_task_type("multiclass");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown task 'multiclass': expected single_label_classification, multi_label_classification, "
              "regression or token_classification");
  }
}

TEST(TrainDataFormat, NamesAndExtensions) {
  EXPECT_EQ(parse_data_format("auto"), DataFormat::Auto);
  EXPECT_EQ(parse_data_format("tsv"), DataFormat::Tsv);
  EXPECT_EQ(parse_data_format("jsonl"), DataFormat::JsonLines);
  EXPECT_EQ(parse_data_format("conll"), DataFormat::Conll);
  EXPECT_EQ(ernie::testing::error_of([] { parse_data_format("csv"); }),
            "unknown data format 'csv': expected auto, tsv, jsonl or conll");
  for (const char* f : {"a.conll", "a.bio", "a.IOB", "a.iob2"})
    EXPECT_EQ(resolve_data_format(f, DataFormat::Auto), DataFormat::Conll) << f;
  for (const char* f : {"a.jsonl", "a.JSON"})
    EXPECT_EQ(resolve_data_format(f, DataFormat::Auto), DataFormat::JsonLines) << f;
  for (const char* f : {"a.tsv", "a.txt", "a"})
    EXPECT_EQ(resolve_data_format(f, DataFormat::Auto), DataFormat::Tsv) << f;
  EXPECT_EQ(resolve_data_format("a.txt", DataFormat::Conll), DataFormat::Conll);   // an explicit format wins
  EXPECT_EQ(resolve_data_format("a.conll", DataFormat::Tsv), DataFormat::Tsv);
}

TEST(TrainDataTsv, SingleTextWithNamedLabelsSortedUnique) {
  TempDir dir;
  // BOM, CRLF, an empty line and a blank line are tolerated; lines keep their physical numbers.
  write_file(dir / "train.tsv", "\xEF\xBB\xBFgood movie\tpos\r\nbad film\tneg\r\n\r\n   \nfine\t pos \n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "train.tsv", {}, labels, true);
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_FALSE(d.pairs);
  EXPECT_EQ(d.skipped, 0);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"neg", "pos"}));  // sorted, not first-seen
  EXPECT_FALSE(labels.fixed);
  EXPECT_EQ(d.examples[0].text_a, "good movie");  // the BOM is gone
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[0].line, 1);
  EXPECT_EQ(d.examples[1].text_a, "bad film");  // no '\r' left
  EXPECT_EQ(d.examples[1].label, 0);
  EXPECT_EQ(d.examples[1].line, 2);
  EXPECT_EQ(d.examples[2].label, 1);  // " pos " trimmed
  EXPECT_EQ(d.examples[2].line, 5);
  EXPECT_TRUE(d.examples[2].text_b.empty());
  EXPECT_EQ(label_counts(d, labels.size()), (std::vector<int64_t>{1, 2}));
}

TEST(TrainDataTsv, IntegerLabelsGiveIndicesZeroToMax) {
  TempDir dir;
  write_file(dir / "train.tsv", "a\t3\nb\t0\nc\t007\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "train.tsv", {}, labels, true);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7"}));
  EXPECT_EQ(d.examples[0].label, 3);
  EXPECT_EQ(d.examples[1].label, 0);
  EXPECT_EQ(d.examples[2].label, 7);  // "007" is index 7
  // One stray large number would make that many classes (fuzz/train found 61,322 from one row).
  EXPECT_EQ(error_of(dir, "big.tsv", "a\t1\nb\t65536\n"),
            (dir / "big.tsv").string() + ":2: label 65536 would make 65537 classes (integer labels are class indices "
            "0..65535); name the classes with --labels");
  LabelSet most;
  write_file(dir / "most.tsv", "a\t65535\n");
  read_dataset(dir / "most.tsv", {}, most, true);
  EXPECT_EQ(most.size(), 65536);
  // The eval set is looked up by name in the derived set: "8" was never seen.
  EXPECT_EQ(error_of(dir, "eval.tsv", "x\t2\ny\t8\n", {}, labels, false),
            (dir / "eval.tsv").string() + ":2: unknown label '8' (labels: 0, 1, 2, 3, 4, 5, 6, 7)");
  const Dataset e = [&] {
    write_file(dir / "eval.tsv", "x\t2\n");
    return read_dataset(dir / "eval.tsv", {}, labels, false);
  }();
  EXPECT_EQ(e.examples[0].label, 2);
  EXPECT_EQ(labels.size(), 8);  // the eval set never adds labels
}

TEST(TrainDataTsv, MixedIntegerAndNameLabelsAreNames) {
  TempDir dir;
  write_file(dir / "t.tsv", "a\t10\nb\tx\nc\t9\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "t.tsv", {}, labels, true);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"10", "9", "x"}));  // byte order
  EXPECT_EQ(d.examples[0].label, 0);
  EXPECT_EQ(d.examples[2].label, 1);
}

TEST(TrainDataTsv, SecondTrainingFileAppendsWithoutRenumbering) {
  TempDir dir;
  write_file(dir / "a.tsv", "t\tdog\nt\tcat\n");
  write_file(dir / "b.tsv", "t\tant\nt\tdog\n");
  LabelSet labels;
  read_dataset(dir / "a.tsv", {}, labels, true);
  const Dataset b = read_dataset(dir / "b.tsv", {}, labels, true);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"cat", "dog", "ant"}));
  EXPECT_EQ(b.examples[0].label, 2);
  EXPECT_EQ(b.examples[1].label, 1);
}

TEST(TrainDataTsv, SentencePairs) {
  TempDir dir;
  write_file(dir / "p.tsv", "how old are you\twhat is your age\t1\nhi\tbye\t0\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "p.tsv", {}, labels, true);
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_TRUE(d.pairs);
  EXPECT_EQ(d.examples[0].text_a, "how old are you");
  EXPECT_EQ(d.examples[0].text_b, "what is your age");
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"0", "1"}));
}

TEST(TrainDataTsv, EveryErrorNamesFileAndLine) {
  TempDir dir;
  const std::string f = (dir / "d.tsv").string();
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tx\nb\tc\td\n"), f + ":2: expected 2 columns (text<TAB>label), got 3");
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tb\tx\nb\tc\n"),
            f + ":2: expected 3 columns (text_a<TAB>text_b<TAB>label), got 2");
  EXPECT_EQ(error_of(dir, "d.tsv", "\nno label here\n"),
            f + ":2: expected 2 columns (text<TAB>label) or 3 (text_a<TAB>text_b<TAB>label), got 1");
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tx\n  \tx\n"), f + ":2: empty text");
  EXPECT_EQ(error_of(dir, "d.tsv", " \tb\tx\n"), f + ":1: empty text_a");
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tb\tx\na\t\tx\n"), f + ":2: empty text_b");
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tx\nb\t \n"), f + ":2: empty label");
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tx\nb\xC3\x28\tx\n"), f + ":2: invalid UTF-8 at byte 2 of the line");
  EXPECT_EQ(error_of(dir, "d.tsv", "\xED\xA0\x80\tx\n"), f + ":1: invalid UTF-8 at byte 1 of the line");  // surrogate
  EXPECT_EQ(error_of(dir, "d.tsv", "\xC0\xAF\tx\n"), f + ":1: invalid UTF-8 at byte 1 of the line");      // overlong
  EXPECT_EQ(error_of(dir, "d.tsv", "ok\xE4\xB8\tx\n"), f + ":1: invalid UTF-8 at byte 3 of the line");    // truncated
  EXPECT_EQ(error_of(dir, "d.tsv", "\n\n"), f + ": no examples");
  LabelSet none;
  EXPECT_EQ(error_of(dir / "missing.tsv", {}, none, true),
            (dir / "missing.tsv").string() + ": cannot read (No such file or directory)");
}

TEST(TrainDataTsv, ForcedColumnCount) {
  TempDir dir;
  DataOptions o;
  o.columns = 3;
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tx\n", o),
            (dir / "d.tsv").string() + ":1: expected 3 columns (text_a<TAB>text_b<TAB>label), got 2");
  o.columns = 4;
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tx\n", o), "TSV columns must be 2 (text<TAB>label) or 3 (text_a<TAB>text_b<TAB>label)");
}

TEST(TrainDataTsv, SkipBadRowsCountsAndKeepsReasons) {
  TempDir dir;
  std::string text = "good\tA\none\ttoo\tmany\tcols\n\tB\nfine\tB\n\xFF\tA\n";
  for (int i = 0; i < 30; ++i) text += "x\n";  // 30 more bad rows (lines 6..35)
  text += "last\tA\n";
  write_file(dir / "d.tsv", text);
  DataOptions o;
  o.skip_bad_rows = true;
  LabelSet labels;
  const Dataset d = read_dataset(dir / "d.tsv", o, labels, true);
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_EQ(d.examples[2].text_a, "last");
  EXPECT_EQ(d.examples[2].line, 36);
  EXPECT_EQ(d.skipped, 33);
  ASSERT_EQ(d.skipped_reasons.size(), kMaxSkippedReasons);
  const std::string f = (dir / "d.tsv").string();
  EXPECT_EQ(d.skipped_reasons[0], f + ":2: expected 2 columns (text<TAB>label), got 4");
  EXPECT_EQ(d.skipped_reasons[1], f + ":3: empty text");
  EXPECT_EQ(d.skipped_reasons[2], f + ":5: invalid UTF-8 at byte 1 of the line");
  EXPECT_EQ(d.skipped_reasons[3], f + ":6: expected 2 columns (text<TAB>label), got 1");
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"A", "B"}));

  // Everything bad: "no examples" names the count and the first reason.
  EXPECT_EQ(error_of(dir, "bad.tsv", "x\ny\n", o), (dir / "bad.tsv").string() + ": no examples (2 bad rows skipped; first: " +
                                                          (dir / "bad.tsv").string() +
                                                          ":1: expected 2 columns (text<TAB>label) or 3 "
                                                          "(text_a<TAB>text_b<TAB>label), got 1)");
}

TEST(TrainDataTsv, UnknownLabelIsFatalEvenWhenSkippingBadRows) {
  TempDir dir;
  LabelSet labels = LabelSet::from_names({"neg", "pos"});
  DataOptions o;
  o.skip_bad_rows = true;
  EXPECT_EQ(error_of(dir, "eval.tsv", "a\tpos\nb\tneutral\n", o, labels, false),
            (dir / "eval.tsv").string() + ":2: unknown label 'neutral' (labels: neg, pos)");
  // fixed sets are never extended, even for a training file
  EXPECT_EQ(error_of(dir, "train.tsv", "a\tpos\nb\tmeh\n", o, labels, true),
            (dir / "train.tsv").string() + ":2: unknown label 'meh' (labels: neg, pos)");
}

TEST(TrainDataLabels, FileGivesNamesAndIndicesMayBeUsed) {
  TempDir dir;
  write_file(dir / "class.txt", "\xEF\xBB\xBF" "finance\r\nrealty\r\n stocks \n\n\n");
  LabelSet labels = LabelSet::from_file(dir / "class.txt");
  EXPECT_TRUE(labels.fixed);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"finance", "realty", "stocks"}));
  EXPECT_EQ(labels.index_of("realty"), 1);
  EXPECT_EQ(labels.index_of("sports"), -1);

  write_file(dir / "train.tsv", "a\t2\nb\trealty\nc\t0\n");
  const Dataset d = read_dataset(dir / "train.tsv", {}, labels, true);
  EXPECT_EQ(d.examples[0].label, 2);
  EXPECT_EQ(d.examples[1].label, 1);
  EXPECT_EQ(d.examples[2].label, 0);
  EXPECT_EQ(labels.size(), 3);
  EXPECT_EQ(error_of(dir, "t2.tsv", "a\t1\nb\t3\n", {}, labels, true),
            (dir / "t2.tsv").string() + ":2: label index 3 out of range (3 labels: 0..2)");
  EXPECT_EQ(error_of(dir, "t3.tsv", "a\t-1\n", {}, labels, true),
            (dir / "t3.tsv").string() + ":1: unknown label '-1' (labels: finance, realty, stocks)");
}

TEST(TrainDataLabels, NumericNamesWinOverIndices) {
  // CLUE TNEWS codes: names "100", "101", ...; "1" is an index, "101" is a name.
  LabelSet labels = LabelSet::from_names({"100", "101", "102"});
  TempDir dir;
  write_file(dir / "d.tsv", "a\t101\nb\t1\n");
  const Dataset d = read_dataset(dir / "d.tsv", {}, labels, false);
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[1].label, 1);
}

TEST(TrainDataLabels, FileErrors) {
  TempDir dir;
  auto err = [&](const std::string& text) {
    write_file(dir / "l.txt", text);
    try {
      LabelSet::from_file(dir / "l.txt");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string f = (dir / "l.txt").string();
  EXPECT_EQ(err("a\n\nb\n"), f + ":2: empty label name");
  EXPECT_EQ(err("a\nb\na\n"), f + ":3: duplicate label 'a' (also on line 1)");
  EXPECT_EQ(err("\n \n"), f + ": no label names");
  EXPECT_EQ(err("a\n\xFE\n"), f + ":2: invalid UTF-8 at byte 1 of the line");
  EXPECT_THROW(LabelSet::from_names({"a", "a"}), Error);
  EXPECT_THROW(LabelSet::from_names({"a", ""}), Error);
  // Many names: the message lists the first 12 and the count.
  std::vector<std::string> many;
  for (int i = 0; i < 15; ++i) many.push_back(std::string("L") += std::to_string(i));  // (not "L" + string: GCC 12 -Wrestrict false positive)
  LabelSet big = LabelSet::from_names(many);
  EXPECT_EQ(error_of(dir, "e.tsv", "a\tzzz\n", {}, big, false),
            (dir / "e.tsv").string() +
                ":1: unknown label 'zzz' (labels: L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, ... (15 in all))");
}

TEST(TrainDataJsonl, ClueStyleFieldsAndPairs) {
  TempDir dir;
  write_file(dir / "tnews.jsonl",
             "{\"label\": \"102\", \"label_desc\": \"news_entertainment\", \"sentence\": \"江疏影甜甜圈自拍\", \"keywords\": \"\"}\n"
             "\r\n"
             "{\"label\": \"110\", \"label_desc\": \"news_military\", \"sentence\": \"以色列大规模空袭\"}\r\n");
  DataOptions o;
  o.text_field = "sentence";
  o.label_field = "label_desc";
  LabelSet labels;
  const Dataset d = read_dataset(dir / "tnews.jsonl", o, labels, true);
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"news_entertainment", "news_military"}));
  EXPECT_EQ(d.examples[0].text_a, "江疏影甜甜圈自拍");
  EXPECT_EQ(d.examples[1].label, 1);
  EXPECT_EQ(d.examples[1].line, 3);
  EXPECT_FALSE(d.pairs);

  write_file(dir / "pairs.json", "{\"s1\":\"a\",\"s2\":\"b\",\"y\":1}\n{\"s1\":\"c\",\"s2\":\"d\",\"y\":0}\n");
  DataOptions p;
  p.text_field = "s1";
  p.text_b_field = "s2";
  p.label_field = "y";
  LabelSet pl;
  const Dataset pd = read_dataset(dir / "pairs.json", p, pl, true);  // .json is JSON lines too
  EXPECT_TRUE(pd.pairs);
  EXPECT_EQ(pd.examples[0].text_b, "b");
  EXPECT_EQ(pd.examples[0].label, 1);
  EXPECT_EQ(pl.names(), (std::vector<std::string>{"0", "1"}));  // integers: indices
}

TEST(TrainDataJsonl, EveryErrorNamesFileAndLine) {
  TempDir dir;
  const std::string f = (dir / "d.jsonl").string();
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"}\n"),
            f + ":2: missing field 'label'");
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"label\":\"x\"}\n"), f + ":1: missing field 'text'");
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":3,\"label\":\"x\"}\n"), f + ":1: field 'text' must be a string, got an integer");
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\" \",\"label\":\"x\"}\n"), f + ":1: empty text in field 'text'");
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\"a\",\"label\":1.5}\n"),
            f + ":1: field 'label' must be a string or an integer, got a float");
  EXPECT_EQ(error_of(dir, "d.jsonl", "[1,2]\n"), f + ":1: expected one JSON object per line, got an array");
  // nlohmann's own words follow "bad JSON: " (without its "[json.exception...] " tag); one line.
  const std::string truncated = error_of(dir, "d.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\": \"b\", \"label\n");
  EXPECT_EQ(truncated.rfind(f + ":2: bad JSON: parse error at line 1, column ", 0), 0u) << truncated;
  EXPECT_EQ(truncated.find('\n'), std::string::npos);
  EXPECT_EQ(truncated.find("[json.exception"), std::string::npos);
  const std::string bad_json = error_of(dir, "d.jsonl", "{\"text\": \"a\", \"label\": }\n");
  EXPECT_EQ(bad_json.rfind(f + ":1: bad JSON: parse error at line 1, column 24:", 0), 0u) << bad_json;
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\": \"a\", \"label\": 1e999}\n"), f + ":1: bad JSON: number overflow parsing '1e999'");
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\"\xC3\",\"label\":\"x\"}\n"), f + ":1: invalid UTF-8 at byte 10 of the line");
  DataOptions pairs;
  pairs.text_b_field = "text_b";
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n", pairs), f + ":1: missing field 'text_b'");
  LabelSet fixed = LabelSet::from_names({"x", "y"});
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\"a\",\"label\":\"z\"}\n", {}, fixed, false),
            f + ":1: unknown label 'z' (labels: x, y)");
  EXPECT_EQ(error_of(dir, "d.jsonl", "{\"text\":\"a\",\"label\":5}\n", {}, fixed, false),
            f + ":1: label index 5 out of range (2 labels: 0..1)");
}

TEST(TrainDataMultiLabel, TsvCommaSeparatedAndJsonArrays) {
  TempDir dir;
  write_file(dir / "m.tsv", "a\tsports,news\nb\tnews\nc\t\n");
  DataOptions o;
  o.task = TaskType::MultiLabel;
  LabelSet labels;
  const Dataset d = read_dataset(dir / "m.tsv", o, labels, true);
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_EQ(labels.names(), (std::vector<std::string>{"news", "sports"}));
  EXPECT_EQ(d.examples[0].targets, (std::vector<float>{1, 1}));
  EXPECT_EQ(d.examples[1].targets, (std::vector<float>{1, 0}));
  EXPECT_EQ(d.examples[2].targets, (std::vector<float>{0, 0}));  // an empty column: no label
  EXPECT_EQ(d.examples[0].label, -1);
  EXPECT_EQ(label_counts(d, labels.size()), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(error_of(dir, "m2.tsv", "a\tx,,y\n", o), (dir / "m2.tsv").string() + ":1: empty label in 'x,,y'");

  write_file(dir / "m.jsonl",
             "{\"text\":\"a\",\"label\":[\"sports\", \"news\"]}\n{\"text\":\"b\",\"label\":\"sports, news\"}\n"
             "{\"text\":\"c\",\"label\":[]}\n{\"text\":\"d\",\"label\":\"\"}\n");
  const Dataset j = read_dataset(dir / "m.jsonl", o, labels, false);
  ASSERT_EQ(j.examples.size(), 4u);
  EXPECT_EQ(j.examples[0].targets, (std::vector<float>{1, 1}));
  EXPECT_EQ(j.examples[1].targets, (std::vector<float>{1, 1}));
  EXPECT_EQ(j.examples[2].targets, (std::vector<float>{0, 0}));
  EXPECT_EQ(j.examples[3].targets, (std::vector<float>{0, 0}));
}

TEST(TrainDataMultiLabel, IndicesNeedAFixedSet) {
  TempDir dir;
  DataOptions o;
  o.task = TaskType::MultiLabel;
  LabelSet fixed = LabelSet::from_names({"news", "sports", "tech"});
  write_file(dir / "m.jsonl", "{\"text\":\"a\",\"label\":[\"sports\", 0]}\n{\"text\":\"d\",\"label\":2}\n");
  const Dataset j = read_dataset(dir / "m.jsonl", o, fixed, false);
  EXPECT_EQ(j.examples[0].targets, (std::vector<float>{1, 1, 0}));
  EXPECT_EQ(j.examples[1].targets, (std::vector<float>{0, 0, 1}));
  LabelSet derived;
  derived.add("news");
  derived.add("sports");
  EXPECT_EQ(error_of(dir, "m2.jsonl", "{\"text\":\"a\",\"label\":[\"sports\", 0]}\n", o, derived, false),
            (dir / "m2.jsonl").string() + ":1: unknown label '0' (labels: news, sports)");
  EXPECT_EQ(error_of(dir, "m3.jsonl", "{\"text\":\"a\",\"label\":[true]}\n", o, fixed, false),
            (dir / "m3.jsonl").string() + ":1: field 'label' must hold strings or integers, got a boolean");
}

TEST(TrainDataRegression, FloatsFromTsvAndJson) {
  TempDir dir;
  DataOptions o;
  o.task = TaskType::Regression;
  write_file(dir / "r.tsv", "a\t0.5\nb\t-2e-1\nc\t+3\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "r.tsv", o, labels, true);
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_EQ(d.examples[0].targets, (std::vector<float>{0.5f}));
  EXPECT_EQ(d.examples[1].targets, (std::vector<float>{-0.2f}));
  EXPECT_EQ(d.examples[2].targets, (std::vector<float>{3.0f}));
  EXPECT_TRUE(labels.empty());  // regression never touches labels

  write_file(dir / "r2.tsv", "a\t1, 2\nb\t3,4\n");
  const Dataset two = read_dataset(dir / "r2.tsv", o, labels, true);
  EXPECT_EQ(two.examples[0].targets, (std::vector<float>{1, 2}));

  write_file(dir / "r.jsonl", "{\"text\":\"a\",\"label\":4}\n{\"text\":\"b\",\"label\":\"1.25\"}\n{\"text\":\"c\",\"label\":[0.5]}\n");
  const Dataset j = read_dataset(dir / "r.jsonl", o, labels, true);
  EXPECT_EQ(j.examples[0].targets, (std::vector<float>{4}));
  EXPECT_EQ(j.examples[1].targets, (std::vector<float>{1.25f}));
  EXPECT_EQ(j.examples[2].targets, (std::vector<float>{0.5f}));

  const std::string f = (dir / "e.tsv").string();
  EXPECT_EQ(error_of(dir, "e.tsv", "a\t1\nb\tabc\n", o), f + ":2: bad float 'abc'");
  EXPECT_EQ(error_of(dir, "e.tsv", "a\tnan\n", o), f + ":1: bad float 'nan'");
  EXPECT_EQ(error_of(dir, "e.tsv", "a\t1e99\n", o), f + ":1: bad float '1e99'");
  EXPECT_EQ(error_of(dir, "e.tsv", "a\t\n", o), f + ":1: bad float ''");
  EXPECT_EQ(error_of(dir, "e.tsv", "a\t1\nb\t1,2\n", o), f + ":2: expected 1 regression value (as the first row), got 2");
  const std::string g = (dir / "e.jsonl").string();
  EXPECT_EQ(error_of(dir, "e.jsonl", "{\"text\":\"a\",\"label\":[1,\"x\"]}\n", o), g + ":1: field 'label' must hold numbers, got a string");
  EXPECT_EQ(error_of(dir, "e.jsonl", "{\"text\":\"a\",\"label\":null}\n", o),
            g + ":1: field 'label' must be a number or an array of numbers, got null");
}

TEST(TrainDataShared, ThucnewsDevWithClassFile) {
  SKIP_WITHOUT_SHARED();
  const auto dir = ::ernie::testing::shared_dir() / "data" / "thucnews-10";
  LabelSet labels = LabelSet::from_file(dir / "class.txt");
  ASSERT_EQ(labels.size(), 10);
  const Dataset d = read_dataset(dir / "dev.txt", {}, labels, true);
  EXPECT_EQ(d.examples.size(), 10000u);
  EXPECT_EQ(d.skipped, 0);
  for (int64_t n : label_counts(d, labels.size())) EXPECT_EQ(n, 1000);  // balanced classes
  EXPECT_EQ(d.examples[0].label, 8);
  EXPECT_EQ(labels.names()[8], "game");
}

TEST(TrainDataShared, TnewsJsonLines) {
  SKIP_WITHOUT_SHARED();
  const auto file = ::ernie::testing::shared_dir() / "data" / "tnews-clue" / "dev.json";
  DataOptions o;
  o.text_field = "sentence";
  o.label_field = "label_desc";
  LabelSet labels;
  const Dataset d = read_dataset(file, o, labels, true);
  EXPECT_EQ(d.examples.size(), 10000u);
  EXPECT_EQ(labels.size(), 15);
}

}  // namespace
}  // namespace ernie

namespace ernie {
namespace {

// scripts/demo_corpus.sh (the `make demo` corpus) writes files this reader takes as they are.
TEST(TrainDataDemoCorpus, FortunesScriptOutputReads) {
  if (!std::filesystem::exists("/usr/share/games/fortunes/zippy"))
    GTEST_SKIP() << "the Debian package fortunes is not installed";
  TempDir dir;
  const std::string cmd = "bash '" + (::ernie::testing::source_dir() / "scripts" / "demo_corpus.sh").string() + "' '" +
                          dir.path().string() + "' 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  LabelSet labels = LabelSet::from_file(dir / "labels.txt");
  ASSERT_EQ(labels.size(), 13);
  EXPECT_EQ(labels.names().front(), "computers");
  const Dataset train = read_dataset(dir / "train.tsv", {}, labels, true);
  const Dataset eval = read_dataset(dir / "eval.tsv", {}, labels, false);
  EXPECT_EQ(train.skipped, 0);
  EXPECT_GT(train.examples.size(), 3000u);
  EXPECT_GT(eval.examples.size(), 700u);
  EXPECT_EQ(labels.size(), 13);  // nothing added
  const std::vector<int64_t> n = label_counts(train, 13);
  for (int64_t k : n) {
    EXPECT_GE(k, 100);
    EXPECT_LE(k, 320);
  }
  for (const Example& e : train.examples) ASSERT_LE(e.text_a.size(), 400u);
  // no text in both splits
  std::set<std::string> seen;
  for (const Example& e : train.examples) seen.insert(e.text_a);
  for (const Example& e : eval.examples) EXPECT_EQ(seen.count(e.text_a), 0u) << e.text_a;
}

}  // namespace
}  // namespace ernie

namespace ernie {
namespace {

TEST(TrainDataLabels, AddKeepsTheFirstIndexOfAName) {
  LabelSet s;
  EXPECT_EQ(s.add("a"), 0);
  EXPECT_EQ(s.add("b"), 1);
  EXPECT_EQ(s.add("a"), 0);
  EXPECT_EQ(s.index_of("b"), 1);
  EXPECT_EQ(s.index_of("c"), -1);
  EXPECT_EQ(s.names(), (std::vector<std::string>{"a", "b"}));
}


}  // namespace
}  // namespace ernie

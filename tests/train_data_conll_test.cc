// CoNLL token-classification files: both column layouts, -DOCSTART-, blank-line runs, CRLF, tag
// sets, one-line errors naming file and line, and the first-piece labelling of run_ner.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ernie/dataset.h"
#include "ernie/error.h"
#include "ernie/tokenizer.h"
#include "test_util.h"
#include "train_data_util.h"

namespace ernie {
namespace {

using ::ernie::testing::error_of;
using ::ernie::testing::TempDir;
using ::ernie::testing::write_file;

DataOptions conll_options(bool skip_bad_rows = false) {
  DataOptions o;
  o.task = TaskType::TokenClassification;
  o.skip_bad_rows = skip_bad_rows;
  return o;
}

using Strs = std::vector<std::string>;
using Ints = std::vector<int32_t>;

TEST(TrainDataConll, WordTagAndConll2003LayoutsDocstartBlankRunsCrlf) {
  TempDir dir;
  // Two columns, tab or spaces, a BOM, CRLF ends, a run of blank (and all-blank) lines.
  write_file(dir / "train.bio",
             "\xEF\xBB\xBFJohn\tB-PER\r\nSmith  I-PER\r\nlives O\r\n\r\n \t \r\n\r\nin\tO\r\nParis\tB-LOC\r\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "train.bio", conll_options(), labels, true);
  // Derived tags: "O" first, then the others sorted by bytes.
  EXPECT_EQ(labels.names(), (Strs{"O", "B-LOC", "B-PER", "I-PER"}));
  EXPECT_FALSE(labels.fixed);
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[0].words, (Strs{"John", "Smith", "lives"}));   // no BOM, no '\r'
  EXPECT_EQ(d.examples[0].tags, (Ints{2, 3, 0}));
  EXPECT_EQ(d.examples[0].line, 1);
  EXPECT_EQ(d.examples[1].words, (Strs{"in", "Paris"}));
  EXPECT_EQ(d.examples[1].tags, (Ints{0, 1}));
  EXPECT_EQ(d.examples[1].line, 7);
  EXPECT_EQ(d.examples[0].label, -1);
  EXPECT_TRUE(d.examples[0].text_a.empty());
  EXPECT_EQ(label_counts(d, labels.size()), (std::vector<int64_t>{2, 1, 1, 1}));

  // CoNLL-2003: word POS CHUNK TAG, -DOCSTART- lines and the blank line after them skipped, a
  // -DOCSTART- right after a sentence ends it; the eval file reads tags by name.
  write_file(dir / "eval.conll",
             "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"
             "-DOCSTART- -X- -X- O\n\n\nBerlin NNP B-NP B-LOC\n");
  LabelSet eval_labels = LabelSet::from_names({"O", "B-LOC", "B-ORG", "B-PER"});
  const Dataset e = read_dataset(dir / "eval.conll", conll_options(), eval_labels, false);
  ASSERT_EQ(e.examples.size(), 3u);
  EXPECT_EQ(e.examples[0].words, (Strs{"EU", "rejects"}));
  EXPECT_EQ(e.examples[0].tags, (Ints{2, 0}));
  EXPECT_EQ(e.examples[0].line, 3);
  EXPECT_EQ(e.examples[1].words, (Strs{"Peter"}));
  EXPECT_EQ(e.examples[1].tags, (Ints{3}));
  EXPECT_EQ(e.examples[1].line, 6);
  EXPECT_EQ(e.examples[2].words, (Strs{"Berlin"}));
  EXPECT_EQ(e.examples[2].tags, (Ints{1}));
  EXPECT_EQ(e.examples[2].line, 10);
}

TEST(TrainDataConll, TagsAreNamesAndOIsFirstOnlyInADerivedSet) {
  TempDir dir;
  // Integer tags are names (sorted as text), not indices; without "O" the order is plain byte order.
  write_file(dir / "t.conll", "a 10\nb 9\nc 2\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "t.conll", conll_options(), labels, true);
  EXPECT_EQ(labels.names(), (Strs{"10", "2", "9"}));
  EXPECT_EQ(d.examples[0].tags, (Ints{0, 2, 1}));
  // A fixed set (--labels) keeps its order, is never extended, and "1" is not an index into it.
  LabelSet fixed = LabelSet::from_names({"B-X", "O"});
  write_file(dir / "f.conll", "a O\nb B-X\n\nc 1\n");
  EXPECT_EQ(error_of(dir / "f.conll", conll_options(), fixed, true),
            (dir / "f.conll").string() + ":4: unknown tag '1' (tags: B-X, O)");
  write_file(dir / "g.conll", "a O\nb B-X\n");
  EXPECT_EQ(read_dataset(dir / "g.conll", conll_options(), fixed, true).examples[0].tags, (Ints{1, 0}));
  // A second training file appends its unseen tags sorted; "O" is not moved to the front then.
  LabelSet grown = LabelSet::from_names({"B-X"});
  grown.fixed = false;
  read_dataset(dir / "f.conll", conll_options(), grown, true);
  EXPECT_EQ(grown.names(), (Strs{"B-X", "1", "O"}));
}

TEST(TrainDataConll, EveryErrorNamesFileAndLine) {
  TempDir dir;
  const std::string f = (dir / "d.conll").string();
  EXPECT_EQ(error_of(dir, "d.conll", "a O\nb O\n\nlonely\nc O\n", conll_options()),
            f + ":4: expected a word and its tag separated by blanks, got one column");
  EXPECT_EQ(error_of(dir, "d.conll", "a O\nb\xC3\x28 O\n", conll_options()),
            f + ":2: invalid UTF-8 at byte 2 of the line");
  EXPECT_EQ(error_of(dir, "d.conll", "a O\nb \xFF\n", conll_options()), f + ":2: invalid UTF-8 at byte 3 of the line");
  EXPECT_EQ(error_of(dir, "d.conll", "\n-DOCSTART- O\n\n", conll_options()), f + ": no examples");
  // An unknown tag in the eval file names the tag's own line, not the sentence's first.
  LabelSet labels = LabelSet::from_names({"O", "B-PER"});
  labels.fixed = false;
  EXPECT_EQ(error_of(dir, "eval.conll", "Ann B-PER\n\nin O\nRome B-LOC\n", conll_options(true), labels, false),
            (dir / "eval.conll").string() + ":4: unknown tag 'B-LOC' (tags: O, B-PER)");
  // The task and the format must agree, whatever the extension says.
  EXPECT_EQ(error_of(dir, "d.conll", "a O\n", DataOptions{}),
            f + ": CoNLL data is for token_classification, not single_label_classification");
  DataOptions as_tsv;
  as_tsv.format = DataFormat::Tsv;
  EXPECT_EQ(error_of(dir, "d.conll", "a\tx\n", as_tsv), "");   // forced TSV reads text<TAB>label
  DataOptions tokens_from_tsv = conll_options();
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tO\n", tokens_from_tsv),
            (dir / "d.tsv").string() +
                ": token_classification needs CoNLL data (word and tag per line: a .conll, .bio, .iob or .iob2 file, "
                "or --format conll)");
  tokens_from_tsv.format = DataFormat::Conll;
  EXPECT_EQ(error_of(dir, "d.tsv", "a\tO\n", tokens_from_tsv), "");   // --format conll reads any name
}

TEST(TrainDataConll, SkipBadRowsDropsTheWholeSentence) {
  TempDir dir;
  // Sentence 2 (lines 4-6) has a one-column line 5: the whole sentence goes, counted once, and
  // reading goes on after it; so does the sentence of lines 11-12 with invalid UTF-8 on line 12.
  write_file(dir / "d.conll", "a O\nb B-X\n\nc O\nbroken\nd B-Y\n\n\ne B-X\n\nf O\ng\xFF O\n\nh O\n");
  LabelSet labels;
  const Dataset d = read_dataset(dir / "d.conll", conll_options(true), labels, true);
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_EQ(d.examples[0].words, (Strs{"a", "b"}));
  EXPECT_EQ(d.examples[1].words, (Strs{"e"}));
  EXPECT_EQ(d.examples[1].line, 9);
  EXPECT_EQ(d.examples[2].words, (Strs{"h"}));
  EXPECT_EQ(d.examples[2].line, 14);
  EXPECT_EQ(d.skipped, 2);
  const std::string f = (dir / "d.conll").string();
  EXPECT_EQ(d.skipped_reasons,
            (Strs{f + ":5: expected a word and its tag separated by blanks, got one column",
                  f + ":12: invalid UTF-8 at byte 2 of the line"}));
  EXPECT_EQ(labels.names(), (Strs{"O", "B-X"}));   // tags of skipped sentences do not count

  const std::string g = (dir / "bad.conll").string();
  EXPECT_EQ(error_of(dir, "bad.conll", "a O\nb\n\nc\n", conll_options(true)),
            g + ": no examples (2 bad sentences skipped; first: " + g +
                ":2: expected a word and its tag separated by blanks, got one column)");
}

// A subset of bert-base-uncased's vocab.txt holding every piece its tokenizer gives the words
// below (WordPiece is greedy longest-match, so the splits are bert-base-uncased's; ids differ).
TEST(TrainDataConll, FirstPieceCarriesTheTagLikeRunNer) {
  const Tokenizer tok = Tokenizer::from_vocab_file(ernie::testing::fixtures_dir() / "ner" / "vocab.txt");
  const Strs words = {"Zelenskyy", "visited", "Gdańsk", "\x07", "the", "U.S.", "on", "Tuesday"};
  std::vector<int64_t> first;
  auto encode_words = [&tok](const Strs& w, size_t max_length, std::vector<int64_t>& first_piece) {
    EncodeOptions o;
    o.max_length = max_length;
    return tok.encode_words(w, o, first_piece);
  };
  const Encoding e = encode_words(words, 0, first);
  Strs pieces;
  for (int32_t id : e.ids) pieces.push_back(tok.vocab().token(id));
  // Lowercased, accents stripped, "U.S." pre-tokenized into 4 pieces, the control character gone.
  EXPECT_EQ(pieces, (Strs{"[CLS]", "ze", "##len", "##sky", "##y", "visited", "gdansk", "the", "u", ".", "s", ".", "on",
                          "tuesday", "[SEP]"}));
  EXPECT_EQ(first, (std::vector<int64_t>{1, 5, 6, -1, 7, 8, 12, 13}));
  EXPECT_EQ(e.type_ids, std::vector<int32_t>(15, 0));
  EXPECT_EQ(e.attention_mask, std::vector<int32_t>(15, 1));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<int32_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  // Byte offsets in "Zelenskyy visited Gdańsk \x07 the U.S. on Tuesday" ('ń' is 2 bytes).
  using Span = std::pair<uint32_t, uint32_t>;
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 0}, {0, 2}, {2, 5}, {5, 8}, {8, 9}, {10, 17}, {18, 25}, {28, 31},
                                          {32, 33}, {33, 34}, {34, 35}, {35, 36}, {37, 39}, {40, 47}, {0, 0}}));

  // Truncation counts [CLS] and [SEP]: 8 tokens leave 6 pieces; a word cut after its first piece
  // keeps its tag, words cut entirely have none.
  EXPECT_EQ(encode_words(words, 8, first).size(), 8u);
  EXPECT_EQ(first, (std::vector<int64_t>{1, 5, 6, -1, -1, -1, -1, -1}));
  const Encoding cut = encode_words(words, 4, first);
  EXPECT_EQ(cut.ids, (std::vector<int32_t>{tok.cls_id(), tok.vocab().id("ze"), tok.vocab().id("##len"), tok.sep_id()}));
  EXPECT_EQ(first, (std::vector<int64_t>{1, -1, -1, -1, -1, -1, -1, -1}));
}

}  // namespace
}  // namespace ernie

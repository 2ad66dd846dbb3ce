// Masking rules of masked-LM pretraining: transformers' proportions (15 % chosen; of those 80 %
// [MASK], 10 % random, 10 % kept), special tokens never chosen, whole words and entity spans
// chosen as units, and masks that depend only on (seed, epoch, example).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "ernie/error.h"
#include "ernie/masking.h"
#include "test_util.h"

namespace ernie {
namespace {

const Tokenizer& en() {
  static const Tokenizer t = Tokenizer::from_vocab_file(testing::fixtures_dir() / "pipeline" / "vocab.txt");
  return t;
}

const std::string kText = "Microsoft unbelievably tokenizes antidisestablishmentarianism in Seattle, near New York City.";

TEST(Masking, TokenMaskingHasTransformersProportions) {
  MaskingOptions o;
  size_t maskable = 0, chosen = 0, as_mask = 0, random = 0, kept = 0, specials_chosen = 0;
  for (uint64_t ex = 0; ex < 4000; ++ex) {
    Encoding e = en().encode(kText);
    const Encoding orig = e;
    const auto units = masking_units(en(), e, kText, MaskingKind::Token, nullptr);
    const auto labels = mask_encoding(en(), e, units, o, 0, ex);
    for (size_t i = 0; i < e.size(); ++i) {
      if (orig.special_tokens_mask[i]) {
        specials_chosen += labels[i] != -100 || e.ids[i] != orig.ids[i];
        continue;
      }
      ++maskable;
      if (labels[i] == -100) {
        EXPECT_EQ(e.ids[i], orig.ids[i]);   // not chosen: untouched
        continue;
      }
      ++chosen;
      EXPECT_EQ(labels[i], orig.ids[i]);    // the label is the original token
      if (e.ids[i] == en().mask_id()) ++as_mask;
      else if (e.ids[i] == orig.ids[i]) ++kept;
      else ++random;
    }
  }
  EXPECT_EQ(specials_chosen, 0u);
  const double p = static_cast<double>(chosen) / maskable;
  EXPECT_NEAR(p, 0.15, 0.01);
  EXPECT_NEAR(static_cast<double>(as_mask) / chosen, 0.8, 0.02);
  // A random draw can give the original token back (1 in |V|): kept and random are ~10 % each.
  EXPECT_NEAR(static_cast<double>(random) / chosen, 0.1, 0.02);
  EXPECT_NEAR(static_cast<double>(kept) / chosen, 0.1, 0.02);
}

TEST(Masking, WholeWordsAreMaskedAsUnits) {
  MaskingOptions o;
  o.kind = MaskingKind::WholeWord;
  Encoding base = en().encode(kText);
  const auto units = masking_units(en(), base, kText, MaskingKind::WholeWord, nullptr);
  // "antidisestablishmentarianism" is several pieces, one unit; every ## piece joins its word.
  bool multi = false;
  for (const auto& u : units) {
    multi = multi || u.size() > 1;
    for (size_t k = 1; k < u.size(); ++k) EXPECT_EQ(en().vocab().token(base.ids[u[k]]).rfind("##", 0), 0u);
  }
  EXPECT_TRUE(multi);
  for (uint64_t ex = 0; ex < 500; ++ex) {
    Encoding e = base;
    const auto labels = mask_encoding(en(), e, units, o, 1, ex);
    size_t chosen = 0;
    for (const auto& u : units) {
      size_t in = 0;
      for (int32_t i : u) in += labels[i] != -100;
      EXPECT_TRUE(in == 0 || in == u.size()) << "a unit is masked whole or not at all";
      chosen += in;
    }
    // DataCollatorForWholeWordMask's budget: round(tokens * 0.15), specials counted.
    EXPECT_LE(chosen, static_cast<size_t>(std::lround(base.size() * 0.15)));
    EXPECT_GE(chosen, 1u);
  }
}

TEST(Masking, ChineseWordsAndEntitySpansAreUnits) {
  const Tokenizer zh = Tokenizer::from_vocab_file(testing::fixtures_dir() / "pipeline" / "vocab.txt");
  Segmenter seg;
  seg.add_word("北京", 1000);
  seg.add_word("首都", 1000);
  const std::string text = "北京是中国的首都";
  const Encoding e = zh.encode(text);
  auto units = masking_units(zh, e, text, MaskingKind::WholeWord, &seg);
  std::set<size_t> sizes;
  for (const auto& u : units) sizes.insert(u.size());
  EXPECT_TRUE(sizes.count(2)) << "北京 and 首都 are two-character units";
  // An entity span [2, 5) (是中国) is one unit under knowledge masking.
  units = masking_units(zh, e, text, MaskingKind::Knowledge, &seg, {{2, 5}});
  bool span = false;
  for (const auto& u : units) span = span || (u.size() == 3 && u[0] == 3);   // tokens 3..5 ([CLS] first)
  EXPECT_TRUE(span);
  EXPECT_THROW(masking_units(zh, e, text, MaskingKind::Knowledge, &seg, {{5, 99}}), Error);
}

// run_mlm_wwm's reference files: the listed token indices continue the word before them.
TEST(Masking, ReferenceFileContinuationsJoinWords) {
  const std::string text = "北京是中国的首都";
  const Encoding e = en().encode(text);   // [CLS] 北 京 是 中 国 的 首 都 [SEP]
  const auto plain = masking_units(en(), e, text, MaskingKind::WholeWord, nullptr);
  const auto ref = masking_units(en(), e, text, MaskingKind::WholeWord, nullptr, {}, {2, 5, 8});
  EXPECT_EQ(plain.size(), 8u);
  ASSERT_EQ(ref.size(), 5u);   // 北京 是 中国 的 首都
  EXPECT_EQ(ref[0], (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(ref[2], (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(ref[4], (std::vector<int32_t>{7, 8}));
}

TEST(Masking, DeterministicPerSeedEpochAndExample) {
  MaskingOptions o;
  o.mlm_probability = 0.3;
  auto run = [&](uint64_t seed, uint64_t epoch, uint64_t ex) {
    MaskingOptions x = o;
    x.seed = seed;
    Encoding e = en().encode(kText);
    return std::make_pair(mask_encoding(en(), e, masking_units(en(), e, kText, MaskingKind::Token, nullptr), x, epoch, ex),
                          e.ids);
  };
  EXPECT_EQ(run(1, 0, 7), run(1, 0, 7));
  EXPECT_NE(run(1, 0, 7), run(1, 1, 7));   // new masks every epoch
  EXPECT_NE(run(1, 0, 7), run(1, 0, 8));
  EXPECT_NE(run(1, 0, 7), run(2, 0, 7));
  EXPECT_THROW(parse_masking("span"), Error);
}

}  // namespace
}  // namespace ernie

// ernie pretrain's data stream, in process: FULL-SENTENCES and pair packing against token ids
// worked out by hand, whole-word flags, the staged masking schedule, shares of two ranks that
// make up one process's batches, the background thread (same steps, errors rethrown), and the
// global loss normalization (two shards with different masked counts give the whole batch's
// gradient; the mean of the shards' means does not).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/trainable.h"
#include "test_util.h"
#include "train/pretrain_data.h"

namespace ernie {
namespace {

namespace fs = std::filesystem;
using namespace pretrain;

// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then a=5 ... n=18, ##b=19.
struct DataSetup {
  testing::TempDir tmp;
  fs::path corpus = tmp / "corpus.txt";
  Tokenizer tok;
  PretrainOptions o;
  DataSetup() : tok(make_tokenizer(tmp / "vocab.txt")) {
    o.corpus = {corpus};
    o.max_seq_len = 8;
    o.shuffle_buffer = 1000;
  }
  static Tokenizer make_tokenizer(const fs::path& p) {
    std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (char c = 'a'; c <= 'n'; ++c) v += std::string(1, c) + "\n";
    testing::write_file(p, v + "##b\n");
    return Tokenizer::from_vocab_file(p);
  }
  std::vector<Example> read(const std::string& text, const std::string& masking = "token", int threads = 1) {
    testing::write_file(corpus, text);
    const MaskingSchedule ms = MaskingSchedule::parse(masking, "");
    ExampleReader r(o, tok, ms, nullptr, o.corpus, false, threads);
    std::vector<Example> out;
    for (Example e; r.next(e);) out.push_back(std::move(e));
    return out;
  }
};

TEST(PretrainData, FullSentencesPacking) {
  DataSetup s;
  // max_seq_len 8: 6 content tokens. Lines join within a document; a [SEP] (3) separates documents;
  // a line that does not fit starts the next sequence; an 8-token line is cut after 6.
  const auto ex = s.read("a b c\nd e\n\nf\ng h i j k l m n\n\na b\n");
  const std::vector<std::vector<int32_t>> want = {{5, 6, 7, 8, 9}, {10}, {11, 12, 13, 14, 15, 16}, {17, 18, 3, 5, 6}};
  ASSERT_EQ(ex.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(ex[i].ta.ids, want[i]) << i;
    EXPECT_FALSE(ex[i].pair);
    EXPECT_EQ(ex[i].index, i);
  }
  EXPECT_EQ(ex[3].ta.flags, std::vector<uint8_t>({0, 0, kSpecial, 0, 0}));
  // Prepared: [CLS] ... [SEP]; the inner [SEP] is never masked; masked ids restore from the labels.
  s.o.mlm_probability = 0.5;
  Config cfg;
  cfg.vocab_size = 20;
  const Preparer prep(s.o, s.tok, cfg, nullptr);
  const Micro m = prep.prepare(ex, 3, 4, 0, 0, MaskingKind::Token);
  ASSERT_EQ(m.rows, 1);
  ASSERT_EQ(m.targets.labels.size(), 7u);
  const std::vector<int64_t> full = {2, 17, 18, 3, 5, 6, 3};
  for (size_t i = 0; i < full.size(); ++i) {
    const int32_t l = m.targets.labels[i];
    EXPECT_EQ(l == -100 ? m.batch.input_ids[i] : l, full[i]) << i;
    if (full[i] == 2 || full[i] == 3) {
      EXPECT_EQ(l, -100) << i;
    }
  }
  EXPECT_EQ(m.tokens, 7);
}

// Packing tokenizes lines in blocks of 1024, on several threads for the counting pass: the same
// examples as one thread, across block boundaries, with and without pairs.
TEST(PretrainData, ParallelTokenizingGivesTheSameExamples) {
  DataSetup s;
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    for (int w = 0; w <= i % 5; ++w) text += std::string(1, static_cast<char>('a' + (i * 7 + w) % 14)) + " ";
    text += i % 9 == 8 ? "\n\n" : "\n";
  }
  for (bool pairs : {false, true}) {
    s.o.nsp = pairs;
    const auto one = s.read(text, "token", 1), two = s.read(text, "token", 2);
    ASSERT_GT(one.size(), 300u);
    ASSERT_EQ(one.size(), two.size());
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(one[i].ta.ids, two[i].ta.ids) << i;
      EXPECT_EQ(one[i].tb.ids, two[i].tb.ids) << i;
      EXPECT_EQ(one[i].pair, two[i].pair) << i;
    }
    EXPECT_EQ(count_examples(s.o, s.tok), static_cast<int64_t>(one.size()));
  }
}

// A packed pair longer than max_seq_len loses tokens as BERT's truncate_seq_pair: one at a time
// from the longer part (B on a tie), from its front or back at random. A of 10 and B of 4 tokens
// into 5 places: A 10 -> 4, then B (tie) 4 -> 3, A 4 -> 3, B 3 -> 2: A keeps 3 contiguous
// tokens, B 2, and both ends get cut across examples.
TEST(PretrainData, PairTruncationCutsEitherEnd) {
  DataSetup s;   // max_seq_len 8
  Config cfg;
  cfg.vocab_size = 20;
  s.o.mlm_probability = 0.15;
  const Preparer prep(s.o, s.tok, cfg, nullptr);
  std::vector<Example> ex(200);
  for (size_t i = 0; i < ex.size(); ++i) {
    for (int32_t t = 5; t < 15; ++t) ex[i].ta.ids.push_back(t), ex[i].ta.flags.push_back(0);
    for (int32_t t = 15; t < 19; ++t) ex[i].tb.ids.push_back(t), ex[i].tb.flags.push_back(0);
    ex[i].pair = ex[i].packed = true;
    ex[i].index = i;
  }
  const Micro m = prep.prepare(ex, 0, ex.size(), 0, 0, MaskingKind::Token);
  ASSERT_EQ(m.rows, 200);
  std::set<int64_t> a_starts, b_starts;
  for (int64_t r = 0; r < m.rows; ++r) {
    std::vector<int64_t> seq;
    for (int64_t i = m.batch.offsets[r]; i < m.batch.offsets[r + 1]; ++i) {
      const int32_t l = m.targets.labels[static_cast<size_t>(i)];
      seq.push_back(l == -100 ? m.batch.input_ids[static_cast<size_t>(i)] : l);
    }
    ASSERT_EQ(seq.size(), 8u) << r;
    EXPECT_EQ(seq[0], 2);
    EXPECT_EQ(seq[4], 3);
    EXPECT_EQ(seq[7], 3);
    for (int k = 1; k < 3; ++k) EXPECT_EQ(seq[k + 1], seq[k] + 1) << r;   // A contiguous
    EXPECT_EQ(seq[6], seq[5] + 1) << r;                                  // B contiguous
    EXPECT_GE(seq[1], 5);
    EXPECT_LE(seq[3], 14);
    EXPECT_GE(seq[5], 15);
    EXPECT_LE(seq[6], 18);
    a_starts.insert(seq[1]);
    b_starts.insert(seq[5]);
  }
  // 7 cuts of A, each end with probability 1/2: its start (5 + front cuts) spreads over 5..12.
  EXPECT_LE(*a_starts.begin(), 6);
  EXPECT_GE(*a_starts.rbegin(), 11);
  EXPECT_GT(a_starts.size(), 3u);
  EXPECT_GT(b_starts.size(), 1u);
}

TEST(PretrainData, PairPackingAndNoPacking) {
  DataSetup s;
  s.o.nsp = true;
  // max_seq_len 8: 5 tokens for A and B. "a b c" + "d e" fill it; "f g h" + "i" form the next pair.
  auto ex = s.read("a b c\nd e\nf g h\ni\n");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_TRUE(ex[0].pair && ex[1].pair);
  EXPECT_EQ(ex[0].ta.ids, std::vector<int32_t>({5, 6, 7}));
  EXPECT_EQ(ex[0].tb.ids, std::vector<int32_t>({8, 9}));
  EXPECT_EQ(ex[1].ta.ids, std::vector<int32_t>({10, 11, 12}));
  EXPECT_EQ(ex[1].tb.ids, std::vector<int32_t>({13}));
  // --packing none: every pair of consecutive lines of a document, as text.
  s.o.packing = "none";
  ex = s.read("a b c\nd e\nf g h\n\ni\n");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].a + "|" + ex[0].b, "a b c|d e");
  EXPECT_EQ(ex[1].a + "|" + ex[1].b, "d e|f g h");
}

TEST(PretrainData, WholeWordFlags) {
  DataSetup s;
  // "ab" is a + ##b: under whole-word masking ##b (19) continues a's unit; plain tokens do not.
  const auto ex = s.read("ab c\n", "whole-word");
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].ta.ids, std::vector<int32_t>({5, 19, 7}));
  EXPECT_EQ(ex[0].ta.flags, std::vector<uint8_t>({0, kJoinsWord, 0}));
}

TEST(PretrainData, MaskingSchedule) {
  const auto s = MaskingSchedule::parse("token", "token:0.3,whole-word:0.3,knowledge:0.4");
  // 10 steps: round(0.3 * 10) = 3 and round(0.6 * 10) = 6 are the switches.
  std::vector<MaskingKind> got;
  for (int64_t step = 0; step < 10; ++step) got.push_back(s.kind_at(step, 10));
  using K = MaskingKind;
  EXPECT_EQ(got, std::vector<K>({K::Token, K::Token, K::Token, K::WholeWord, K::WholeWord, K::WholeWord, K::Knowledge,
                                 K::Knowledge, K::Knowledge, K::Knowledge}));
  EXPECT_EQ(MaskingSchedule::parse("whole-word", "").kind_at(5, 10), K::WholeWord);
  for (const char* bad : {"token:0.5", "token:0.5,foo:0.5", "token", "token:x", "token:0.5,whole-word:0.6"})
    EXPECT_THROW(MaskingSchedule::parse("token", bad), Error) << bad;
}

std::string twenty_lines() {
  std::string text;
  for (int i = 0; i < 20; ++i) text += std::string(1, static_cast<char>('a' + i % 14)) + " b c" + (i % 5 == 4 ? "\n\n" : "\n");
  return text;
}

std::vector<StepData> steps_of(const PretrainOptions& o, const Tokenizer& tok, int rank, int ranks, int64_t start,
                               int prefetch) {
  Config cfg;
  cfg.vocab_size = 20;
  const MaskingSchedule ms = MaskingSchedule::parse("token", "");
  const Preparer prep(o, tok, cfg, nullptr);
  StreamSpec spec;
  spec.rank = rank, spec.ranks = ranks, spec.examples = 20, spec.steps_per_epoch = 5, spec.total = 10;
  spec.start_step = start;
  StepSource src(o, tok, prep, ms, nullptr, spec);
  Prefetcher p(src, prefetch);
  std::vector<StepData> out;
  for (StepData d; p.next(d);) out.push_back(std::move(d));
  return out;
}

// Rank 0's and rank 1's shares (batch 2 each) of every micro-batch are, back to back, the one
// process's micro-batch of 4; a source started at step 7 gives steps 7-9 of the full run; the
// background thread changes nothing.
TEST(PretrainData, RankSharesResumeAndThread) {
  DataSetup s;
  s.o.packing = "none";
  s.o.shuffle_buffer = 7;   // batches cross the shuffle buffers
  testing::write_file(s.corpus, twenty_lines());
  s.o.batch_size = 4;
  const auto one = steps_of(s.o, s.tok, 0, 1, 0, 0);
  ASSERT_EQ(one.size(), 10u);
  EXPECT_TRUE(one[4].epoch_end && one[9].epoch_end && !one[3].epoch_end);
  EXPECT_EQ(one[5].epoch, 1);
  auto ids = [](const Micro& m) { return std::vector<int64_t>(m.batch.input_ids.begin(), m.batch.input_ids.end()); };
  const auto threaded = steps_of(s.o, s.tok, 0, 1, 0, 3);
  const auto resumed = steps_of(s.o, s.tok, 0, 1, 7, 2);
  ASSERT_EQ(threaded.size(), 10u);
  ASSERT_EQ(resumed.size(), 3u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(ids(threaded[i].micros[0]), ids(one[i].micros[0]));
    EXPECT_EQ(threaded[i].micros[0].targets.labels, one[i].micros[0].targets.labels);
    if (i >= 7) {
      EXPECT_EQ(ids(resumed[i - 7].micros[0]), ids(one[i].micros[0]));
    }
  }
  s.o.batch_size = 2;
  const auto r0 = steps_of(s.o, s.tok, 0, 2, 0, 1), r1 = steps_of(s.o, s.tok, 1, 2, 0, 0);
  ASSERT_EQ(r0.size(), 10u);
  ASSERT_EQ(r1.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    auto both = ids(r0[i].micros[0]);
    const auto second = ids(r1[i].micros[0]);
    both.insert(both.end(), second.begin(), second.end());
    EXPECT_EQ(both, ids(one[i].micros[0])) << i;
    auto labels = r0[i].micros[0].targets.labels;
    labels.insert(labels.end(), r1[i].micros[0].targets.labels.begin(), r1[i].micros[0].targets.labels.end());
    EXPECT_EQ(labels, one[i].micros[0].targets.labels) << i;
    EXPECT_EQ(r1[i].micros[0].first_row, 2);
  }
}

TEST(PretrainData, ThreadErrorsReachTheCaller) {
  DataSetup s;
  s.o.packing = "none";
  s.o.batch_size = 4;
  testing::write_file(s.corpus, "a b\nc d\n");   // 2 examples where 20 were counted
  try {
    steps_of(s.o, s.tok, 0, 1, 0, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the corpus changed since it was counted"), std::string::npos) << e.what();
  }
}

// Two shards of a pre-training batch with 1 and 5 masked tokens and 1 and 2 pairs: scaled by their
// shares of the global counts (1/6, 5/6; 1/3, 2/3), their gradients add up to the whole batch's,
// whose loss is the mean over its 6 masked tokens plus the mean over its 3 pairs.
TEST(PretrainData, GlobalCountNormalization) {
  Config cfg;
  cfg.vocab_size = 30;
  cfg.hidden_size = 16;
  cfg.num_hidden_layers = 1;
  cfg.num_attention_heads = 2;
  cfg.intermediate_size = 24;
  cfg.max_position_embeddings = 16;
  cfg.initializer_range = 0.2;
  cfg.architectures = {"BertForPreTraining"};
  cfg.model_type = ModelType::Bert;
  const auto params = init_parameters(cfg, 3);
  const std::vector<std::vector<int32_t>> rows = {{2, 5, 9, 11, 3}, {2, 7, 8, 3, 4, 3}, {2, 13, 17, 19, 23, 29, 3}};
  const std::vector<std::vector<int32_t>> labels = {{-100, 6, -100, -100, -100},
                                                    {-100, 9, -100, -100, 12, -100},
                                                    {-100, 14, -100, 20, -100, 25, -100}};
  const std::vector<int32_t> sentence = {1, 0, 1};
  auto slice = [&](size_t begin, size_t end, Batch& b, Targets& t) {
    std::vector<Encoding> encs;
    for (size_t r = begin; r < end; ++r) {
      Encoding e;
      e.ids = rows[r];
      e.type_ids.assign(e.ids.size(), 0);
      e.attention_mask.assign(e.ids.size(), 1);
      encs.push_back(e);
      t.labels.insert(t.labels.end(), labels[r].begin(), labels[r].end());
      t.sentence_labels.push_back(sentence[r]);
    }
    b = pack_encodings(encs, cfg);
  };
  StepOptions o;
  o.dropout = false;
  TrainableModel whole(cfg, params), global(cfg, params), naive(cfg, params);
  Batch b;
  Targets t;
  slice(0, 3, b, t);
  whole.forward_backward(b, t, o);
  for (const auto& [begin, end, masked, pairs] : {std::tuple<size_t, size_t, float, float>{0, 1, 1, 1}, {1, 3, 5, 2}}) {
    Batch sb;
    Targets st;
    slice(begin, end, sb, st);
    StepOptions so = o;
    so.loss_scale = masked / 6.0f;
    so.sentence_loss_scale = pairs / 3.0f;
    global.forward_backward(sb, st, so);
    so.loss_scale = so.sentence_loss_scale = 0.5f;   // the mean of the two shards' means
    naive.forward_backward(sb, st, so);
  }
  auto rel = [](const Tensor& a, const Tensor& ref) {
    double diff = 0, big = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      diff = std::max(diff, std::fabs(static_cast<double>(a.data<float>()[i]) - ref.data<float>()[i]));
      big = std::max(big, std::fabs(static_cast<double>(ref.data<float>()[i])));
    }
    return diff / std::max(big, 1e-12);
  };
  EXPECT_LT(rel(global.gradient_storage(), whole.gradient_storage()), 1e-5);
  EXPECT_GT(rel(naive.gradient_storage(), whole.gradient_storage()), 1e-2);
}

}  // namespace
}  // namespace ernie

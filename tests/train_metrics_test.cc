// Fine-tuning metrics (sklearn definitions, hand-computed cases), entity chunks and P/R/F1 (seqeval's
// default mode), reports and the training-curves SVG.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "ernie/error.h"
#include "ernie/metrics.h"
#include "train/report.h"

namespace ernie {
namespace {

ConfusionMatrix matrix_of(int32_t n, const std::vector<int32_t>& truth, const std::vector<int32_t>& pred) {
  ConfusionMatrix cm(n);
  for (size_t i = 0; i < truth.size(); ++i) cm.add(truth[i], pred[i]);
  return cm;
}

// y_true = [0,0,0,1,1,2], y_pred = [0,0,1,1,2,2]
//   confusion (rows truth):  [2 1 0] / [0 1 1] / [0 0 1]; accuracy 4/6
//   class 0: tp 2, predicted 2, support 3 -> P 1,   R 2/3, F1 2*(2/3)/(5/3) = 0.8
//   class 1: tp 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 0.5
//   class 2: tp 1, predicted 2, support 1 -> P 1/2, R 1,   F1 2*(1/2)/(3/2) = 2/3
//   macro P (1 + .5 + .5)/3 = 2/3, R (2/3 + .5 + 1)/3 = 13/18, F1 (0.8 + 0.5 + 2/3)/3 = 59/90
//   weighted P (3*1 + 2*.5 + 1*.5)/6 = 0.75, R = accuracy, F1 (2.4 + 1 + 2/3)/6 = 61/90
TEST(TrainMetrics, HandComputedThreeClasses) {
  const ConfusionMatrix cm = matrix_of(3, {0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2});
  EXPECT_EQ(cm.counts(), (std::vector<int64_t>{2, 1, 0, 0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(cm.total(), 6);
  EXPECT_EQ(cm.correct(), 4);
  const ClassificationMetrics m = classification_metrics(cm);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6);
  ASSERT_EQ(m.classes.size(), 3u);
  EXPECT_DOUBLE_EQ(m.classes[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(m.classes[0].recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.classes[0].f1, 0.8);
  EXPECT_EQ(m.classes[0].support, 3);
  EXPECT_EQ(m.classes[0].predicted, 2);
  EXPECT_DOUBLE_EQ(m.classes[1].f1, 0.5);
  EXPECT_DOUBLE_EQ(m.classes[2].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.classes[2].recall, 1.0);
  EXPECT_NEAR(m.classes[2].f1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.macro_precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.macro_recall, 13.0 / 18, 1e-12);
  EXPECT_NEAR(m.macro_f1, 59.0 / 90, 1e-12);
  EXPECT_NEAR(m.weighted_precision, 0.75, 1e-12);
  EXPECT_NEAR(m.weighted_recall, 4.0 / 6, 1e-12);
  EXPECT_NEAR(m.weighted_f1, 61.0 / 90, 1e-12);
  EXPECT_EQ(m.averaged_classes, 3);
  EXPECT_EQ(m.total, 6);
}

// sklearn.metrics.classification_report([0,0,0,1,1,2], [0,0,1,1,2,2], target_names=["cat","dog","bird"])
// prints exactly this (digits=2).
TEST(TrainMetrics, TextReportMatchesSklearnLayout) {
  const ClassificationMetrics m = classification_metrics(matrix_of(3, {0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}));
  const std::string want =
      "              precision    recall  f1-score   support\n"
      "\n"
      "         cat       1.00      0.67      0.80         3\n"
      "         dog       0.50      0.50      0.50         2\n"
      "        bird       0.50      1.00      0.67         1\n"
      "\n"
      "    accuracy                           0.67         6\n"
      "   macro avg       0.67      0.72      0.66         6\n"
      "weighted avg       0.75      0.67      0.68         6\n";
  EXPECT_EQ(classification_report_text(m, {"cat", "dog", "bird"}, 2), want);
  // Names longer than "weighted avg" widen the first column; CJK names count code points.
  const std::string wide = classification_report_text(m, {"体育新闻体育新闻体育新闻体育", "b", "c"}, 4);
  EXPECT_NE(wide.find("\n体育新闻体育新闻体育新闻体育     1.0000    0.6667    0.8000         3\n"), std::string::npos)
      << wide;
  EXPECT_NE(wide.find("\n  weighted avg     0.7500"), std::string::npos) << wide;
  // Without names: indices.
  EXPECT_NE(classification_report_text(m, {}, 2).find("\n           2       0.50      1.00      0.67         1\n"),
            std::string::npos);
  EXPECT_THROW(classification_report_text(m, {"a", "b"}, 2), Error);
}

// y_true = [0,0,1,1], y_pred = [0,2,1,1] over 4 classes:
//   class 0: P 1, R 1/2, F1 2/3; class 1: 1, 1, 1;
//   class 2: predicted once, never true: P 0/1 = 0, R 0/0 -> 0, F1 0 -> in the macro average;
//   class 3: never true, never predicted -> left out (sklearn labels=None uses unique_labels).
//   macro F1 = (2/3 + 1 + 0) / 3 = 5/9 (sklearn f1_score(average="macro") = 0.5555...).
TEST(TrainMetrics, SklearnZeroDivisionAndAbsentClasses) {
  const ClassificationMetrics m = classification_metrics(matrix_of(4, {0, 0, 1, 1}, {0, 2, 1, 1}));
  EXPECT_EQ(m.averaged_classes, 3);
  EXPECT_DOUBLE_EQ(m.classes[2].precision, 0.0);
  EXPECT_DOUBLE_EQ(m.classes[2].recall, 0.0);
  EXPECT_DOUBLE_EQ(m.classes[2].f1, 0.0);
  EXPECT_EQ(m.classes[2].predicted, 1);
  EXPECT_EQ(m.classes[3].support, 0);
  EXPECT_NEAR(m.macro_f1, 5.0 / 9, 1e-12);
  EXPECT_NEAR(m.macro_precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.macro_recall, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);

  // A class that is true but never predicted: P = 0/0 -> 0, R = 0, F1 = 0.
  // y_true [0,1], y_pred [0,0]: class 0 P 1/2 R 1 F1 2/3; macro F1 = 1/3 (sklearn: 0.3333...).
  const ClassificationMetrics n = classification_metrics(matrix_of(2, {0, 1}, {0, 0}));
  EXPECT_DOUBLE_EQ(n.classes[1].precision, 0.0);
  EXPECT_NEAR(n.macro_f1, 1.0 / 3, 1e-12);
  EXPECT_NEAR(n.weighted_f1, 1.0 / 3, 1e-12);  // (1 * 2/3 + 1 * 0) / 2

  // Perfect and empty matrices.
  const ClassificationMetrics p = classification_metrics(matrix_of(2, {0, 1, 1}, {0, 1, 1}));
  EXPECT_DOUBLE_EQ(p.macro_f1, 1.0);
  EXPECT_DOUBLE_EQ(p.accuracy, 1.0);
  const ClassificationMetrics e = classification_metrics(ConfusionMatrix(3));
  EXPECT_DOUBLE_EQ(e.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(e.macro_f1, 0.0);
  EXPECT_EQ(e.averaged_classes, 0);
}

TEST(TrainMetrics, ConfusionMatrixRejectsOutOfRange) {
  ConfusionMatrix cm(2);
  EXPECT_THROW(cm.add(2, 0), Error);
  EXPECT_THROW(cm.add(0, -1), Error);
  EXPECT_THROW(ConfusionMatrix(0), Error);
}

TEST(TrainMetrics, JsonReportsAndMatrixText) {
  const ConfusionMatrix cm = matrix_of(3, {0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2});
  const ClassificationMetrics m = classification_metrics(cm);
  const std::string j = classification_report_json(m, {"cat", "dog", "q\"x"});
  EXPECT_EQ(j.rfind("{\"accuracy\":0.666667,\"macro_precision\":0.666667,\"macro_recall\":0.722222,"
                    "\"macro_f1\":0.655556,\"weighted_precision\":0.75,\"weighted_recall\":0.666667,"
                    "\"weighted_f1\":0.677778,\"total\":6,\"classes\":[",
                    0),
            0u)
      << j;
  EXPECT_NE(j.find("{\"label\":\"cat\",\"index\":0,\"precision\":1,\"recall\":0.666667,\"f1\":0.8,\"support\":3,"
                   "\"predicted\":2}"),
            std::string::npos);
  EXPECT_NE(j.find("\"label\":\"q\\\"x\""), std::string::npos);  // escaped quote
  EXPECT_EQ(confusion_matrix_json(cm, {"cat", "dog", "bird"}),
            "{\"labels\":[\"cat\",\"dog\",\"bird\"],\"rows\":\"truth\",\"columns\":\"predicted\","
            "\"matrix\":[[2,1,0],[0,1,1],[0,0,1]]}");
  EXPECT_EQ(confusion_matrix_text(cm, {"cat", "dog", "bird"}),
            "truth \\ predicted   cat   dog  bird\n"
            "cat                   2     1     0\n"
            "dog                   0     1     1\n"
            "bird                  0     0     1\n");
  EXPECT_EQ(json_number(NAN), "null");
  EXPECT_EQ(json_number(INFINITY), "null");
  EXPECT_EQ(json_number(0.5), "0.5");
  EXPECT_EQ(json_string("a\tb\x01"), "\"a\\tb\\u0001\"");
}

// targets                logits                 predicted (logit > 0)
//   r0 [1 0 1]   [ 2.0 -1.0  0.5]   [1 0 1]  exact
//   r1 [0 1 0]   [-0.5  0.0 -3.0]   [0 0 0]  label 1 missed (a logit of 0 is sigmoid 0.5: negative)
//   r2 [1 1 0]   [ 1.0  3.0  1.0]   [1 1 1]  label 2 false positive
// label 0: tp 2 fp 0 fn 0 -> P 1 R 1 F1 1;  label 1: tp 1 fp 0 fn 1 -> P 1 R 1/2 F1 2/3;
// label 2: tp 1 fp 1 fn 0 -> P 1/2 R 1 F1 2/3.
// micro: tp 4, predicted 5, true 5 -> P = R = F1 = 0.8; macro F1 = (1 + 2/3 + 2/3)/3 = 7/9;
// subset accuracy 1/3; hamming loss 2/9.
TEST(TrainMetrics, MultiLabelHandComputed) {
  const std::vector<float> t = {1, 0, 1, 0, 1, 0, 1, 1, 0};
  const std::vector<float> z = {2.0f, -1.0f, 0.5f, -0.5f, 0.0f, -3.0f, 1.0f, 3.0f, 1.0f};
  const MultiLabelMetrics m = multilabel_metrics(z, t, 3);
  EXPECT_EQ(m.rows, 3);
  EXPECT_DOUBLE_EQ(m.labels[0].f1, 1.0);
  EXPECT_NEAR(m.labels[1].f1, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.labels[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(m.labels[2].precision, 0.5);
  EXPECT_EQ(m.labels[2].support, 1);
  EXPECT_EQ(m.labels[2].predicted, 2);
  EXPECT_NEAR(m.micro_precision, 0.8, 1e-12);
  EXPECT_NEAR(m.micro_recall, 0.8, 1e-12);
  EXPECT_NEAR(m.micro_f1, 0.8, 1e-12);
  EXPECT_NEAR(m.macro_f1, 7.0 / 9, 1e-12);
  EXPECT_NEAR(m.macro_precision, 2.5 / 3, 1e-12);
  EXPECT_NEAR(m.macro_recall, 2.5 / 3, 1e-12);
  EXPECT_NEAR(m.subset_accuracy, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.hamming_loss, 2.0 / 9, 1e-12);

  // A 4th label never true and never predicted: F1 = 0 (zero_division), and it counts in the
  // macro average over all columns: (1 + 2/3 + 2/3 + 0) / 4 = 7/12. Micro is unchanged.
  std::vector<float> t4, z4;
  for (int r = 0; r < 3; ++r) {
    t4.insert(t4.end(), t.begin() + 3 * r, t.begin() + 3 * r + 3);
    t4.push_back(0);
    z4.insert(z4.end(), z.begin() + 3 * r, z.begin() + 3 * r + 3);
    z4.push_back(-2);
  }
  const MultiLabelMetrics m4 = multilabel_metrics(z4, t4, 4);
  EXPECT_NEAR(m4.macro_f1, 7.0 / 12, 1e-12);
  EXPECT_NEAR(m4.micro_f1, 0.8, 1e-12);
  EXPECT_NEAR(m4.hamming_loss, 2.0 / 12, 1e-12);
  EXPECT_THROW(multilabel_metrics({1, 2, 3}, {1, 0}, 3), Error);
  const std::string j = multilabel_report_json(m, {"a", "b", "c"});
  EXPECT_EQ(j.rfind("{\"subset_accuracy\":0.333333,\"hamming_loss\":0.222222,\"micro_precision\":0.8,", 0), 0u) << j;
}

// pred [1,2,3,4], target [1,3,2,5]: errors [0,-1,1,-1] -> MSE 3/4, MAE 3/4, RMSE sqrt(3)/2.
// Pearson: centred x [-1.5,-.5,.5,1.5], y [-1.75,.25,-.75,2.25]: sxy 5.5, sxx 5, syy 8.75
//   -> 5.5 / sqrt(43.75). Spearman: ranks y [1,3,2,4] -> sxy 4, sxx = syy = 5 -> 0.8.
// Ties: pred [1,2,2,3] ranks [1,2.5,2.5,4] vs [1,2,3,4] -> 4.5 / sqrt(4.5 * 5)
//   (scipy.stats.spearmanr gives 0.9486832980505138).
TEST(TrainMetrics, RegressionHandComputed) {
  const RegressionMetrics m = regression_metrics({1, 2, 3, 4}, {1, 3, 2, 5});
  EXPECT_EQ(m.count, 4);
  EXPECT_DOUBLE_EQ(m.mse, 0.75);
  EXPECT_DOUBLE_EQ(m.mae, 0.75);
  EXPECT_NEAR(m.rmse, std::sqrt(3.0) / 2, 1e-12);
  EXPECT_NEAR(m.pearson, 5.5 / std::sqrt(43.75), 1e-12);
  EXPECT_NEAR(m.spearman, 0.8, 1e-12);
  const RegressionMetrics t = regression_metrics({1, 2, 2, 3}, {1, 2, 3, 4});
  EXPECT_NEAR(t.spearman, 0.9486832980505138, 1e-12);
  const RegressionMetrics c = regression_metrics({1, 1, 1}, {1, 2, 3});
  EXPECT_TRUE(std::isnan(c.pearson));
  EXPECT_TRUE(std::isnan(c.spearman));
  // errors [0, -1, -2]: MSE 5/3, MAE 1
  EXPECT_EQ(regression_report_json(c), "{\"mse\":1.66667,\"rmse\":1.29099,\"mae\":1,\"pearson\":null,"
                                       "\"spearman\":null,\"count\":3}");
  EXPECT_THROW(regression_metrics({1}, {1, 2}), Error);
  EXPECT_NEAR(regression_metrics({3, 2, 1}, {1, 2, 3}).pearson, -1.0, 1e-12);
}

// ------------------------------------------------------------------------------------------------
// Entities (token classification)

using Tags = std::vector<std::string>;
using Chunks = std::vector<Chunk>;

TEST(TrainMetricsEntities, ChunksFromIob2Iob1AndIobes) {
  // IOB2: B starts, I continues the same type, B right after a chunk starts another.
  EXPECT_EQ(extract_chunks({"B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"}),
            (Chunks{{"PER", 0, 2}, {"LOC", 3, 4}, {"LOC", 4, 6}}));
  // I after O (and at the start) starts a chunk, as IOB1 reads it.
  EXPECT_EQ(extract_chunks({"O", "I-PER", "I-PER", "O"}), (Chunks{{"PER", 1, 3}}));
  EXPECT_EQ(extract_chunks({"I-ORG"}), (Chunks{{"ORG", 0, 1}}));
  EXPECT_EQ(extract_chunks({"I-LOC", "B-LOC", "I-LOC"}), (Chunks{{"LOC", 0, 1}, {"LOC", 1, 3}}));
  // A type change inside a chunk ends it and starts the new type's chunk.
  EXPECT_EQ(extract_chunks({"B-PER", "I-LOC", "I-LOC", "I-PER"}),
            (Chunks{{"PER", 0, 1}, {"LOC", 1, 3}, {"PER", 3, 4}}));
  // IOBES: E ends its chunk, S is one word, I after E starts a new chunk.
  EXPECT_EQ(extract_chunks({"S-PER", "B-LOC", "E-LOC", "I-LOC", "E-LOC", "E-LOC"}),
            (Chunks{{"PER", 0, 1}, {"LOC", 1, 3}, {"LOC", 3, 5}, {"LOC", 5, 6}}));
  // Tags without a B-/I-/E-/S- prefix are one-word chunks named by the whole tag.
  EXPECT_EQ(extract_chunks({"LOC", "LOC", "O", "MISC", "B-", "X-PER"}),
            (Chunks{{"LOC", 0, 1}, {"LOC", 1, 2}, {"MISC", 3, 4}, {"B-", 4, 5}, {"X-PER", 5, 6}}));
  EXPECT_EQ(extract_chunks({"O", "O"}), Chunks{});
  EXPECT_EQ(extract_chunks({}), Chunks{});
}

// Sentence 1: truth PER[0,2) LOC[3,4); predicted PER[0,1) (wrong end) LOC[3,4) (right).
// Sentence 2: truth LOC[0,2) ORG[3,4); predicted LOC[0,2) (right), PER[2,3) (wrong), and I-ORG
//   after B-PER starts ORG[3,4) (right).
// Sentence 3: truth none; predicted MISC[0,1) (wrong).
//   LOC  true 2, predicted 2, correct 2 -> P 1, R 1, F1 1
//   MISC true 0, predicted 1, correct 0 -> 0, 0, 0
//   ORG  true 1, predicted 1, correct 1 -> 1, 1, 1
//   PER  true 1, predicted 2, correct 0 -> 0, 0, 0
//   micro: 3 correct of 6 predicted and 4 true -> P 1/2, R 3/4, F1 2 * 3/8 / (5/4) = 3/5
//   macro over the 4 types: P 1/2, R 1/2, F1 1/2; weighted by support (2, 0, 1, 1): 3/4 each.
TEST(TrainMetricsEntities, HandComputedPrecisionRecallF1) {
  const std::vector<Tags> truth = {{"B-PER", "I-PER", "O", "B-LOC"}, {"B-LOC", "I-LOC", "O", "B-ORG"}, {"O", "O"}};
  const std::vector<Tags> pred = {{"B-PER", "O", "O", "B-LOC"}, {"B-LOC", "I-LOC", "B-PER", "I-ORG"}, {"B-MISC", "O"}};
  const EntityMetrics m = entity_metrics(truth, pred);
  EXPECT_EQ(m.types, (Tags{"LOC", "MISC", "ORG", "PER"}));
  EXPECT_EQ(m.true_chunks, 4);
  EXPECT_EQ(m.predicted_chunks, 6);
  EXPECT_EQ(m.correct_chunks, 3);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.75);
  EXPECT_DOUBLE_EQ(m.f1, 0.6);
  ASSERT_EQ(m.per_type.size(), 4u);
  const double expected[4][3] = {{1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}};
  const int64_t support[4] = {2, 0, 1, 1}, predicted[4] = {2, 1, 1, 2};
  for (int k = 0; k < 4; ++k) {
    EXPECT_DOUBLE_EQ(m.per_type[k].precision, expected[k][0]) << m.types[k];
    EXPECT_DOUBLE_EQ(m.per_type[k].recall, expected[k][1]) << m.types[k];
    EXPECT_DOUBLE_EQ(m.per_type[k].f1, expected[k][2]) << m.types[k];
    EXPECT_EQ(m.per_type[k].support, support[k]) << m.types[k];
    EXPECT_EQ(m.per_type[k].predicted, predicted[k]) << m.types[k];
  }
  EXPECT_DOUBLE_EQ(m.macro_precision, 0.5);
  EXPECT_DOUBLE_EQ(m.macro_recall, 0.5);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.5);
  EXPECT_DOUBLE_EQ(m.weighted_precision, 0.75);
  EXPECT_DOUBLE_EQ(m.weighted_recall, 0.75);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 0.75);

  // seqeval's report layout (sklearn's): names right-aligned to 12, columns of 9 after a space.
  EXPECT_EQ(entity_report_text(m),
            "              precision    recall  f1-score   support\n"
            "\n"
            "         LOC     1.0000    1.0000    1.0000         2\n"
            "        MISC     0.0000    0.0000    0.0000         0\n"
            "         ORG     1.0000    1.0000    1.0000         1\n"
            "         PER     0.0000    0.0000    0.0000         1\n"
            "\n"
            "   micro avg     0.5000    0.7500    0.6000         4\n"
            "   macro avg     0.5000    0.5000    0.5000         4\n"
            "weighted avg     0.7500    0.7500    0.7500         4\n");
  EXPECT_EQ(entity_report_json(m),
            "{\"precision\":0.5,\"recall\":0.75,\"f1\":0.6,\"macro_precision\":0.5,\"macro_recall\":0.5,"
            "\"macro_f1\":0.5,\"weighted_precision\":0.75,\"weighted_recall\":0.75,\"weighted_f1\":0.75,"
            "\"true_entities\":4,\"predicted_entities\":6,\"correct_entities\":3,\"types\":["
            "{\"label\":\"LOC\",\"index\":0,\"precision\":1,\"recall\":1,\"f1\":1,\"support\":2,\"predicted\":2},"
            "{\"label\":\"MISC\",\"index\":1,\"precision\":0,\"recall\":0,\"f1\":0,\"support\":0,\"predicted\":1},"
            "{\"label\":\"ORG\",\"index\":2,\"precision\":1,\"recall\":1,\"f1\":1,\"support\":1,\"predicted\":1},"
            "{\"label\":\"PER\",\"index\":3,\"precision\":0,\"recall\":0,\"f1\":0,\"support\":1,\"predicted\":2}]}");
}

TEST(TrainMetricsEntities, PerfectAndAllWrongPredictions) {
  const std::vector<Tags> truth = {{"B-PER", "I-PER", "O", "B-LOC"}, {"O", "B-ORG", "I-ORG"}};
  const EntityMetrics perfect = entity_metrics(truth, truth);
  EXPECT_EQ(perfect.correct_chunks, 3);
  EXPECT_DOUBLE_EQ(perfect.precision, 1.0);
  EXPECT_DOUBLE_EQ(perfect.recall, 1.0);
  EXPECT_DOUBLE_EQ(perfect.f1, 1.0);
  EXPECT_DOUBLE_EQ(perfect.macro_f1, 1.0);
  // Every boundary or type wrong: 3 true, 3 predicted, none correct.
  const EntityMetrics wrong = entity_metrics(truth, {{"B-PER", "B-PER", "O", "B-ORG"}, {"O", "B-ORG", "O"}});
  EXPECT_EQ(wrong.true_chunks, 3);
  EXPECT_EQ(wrong.predicted_chunks, 4);
  EXPECT_EQ(wrong.correct_chunks, 0);
  EXPECT_DOUBLE_EQ(wrong.precision, 0.0);
  EXPECT_DOUBLE_EQ(wrong.recall, 0.0);
  EXPECT_DOUBLE_EQ(wrong.f1, 0.0);
  EXPECT_DOUBLE_EQ(wrong.macro_f1, 0.0);
  // Nothing predicted: precision 0/0 = 0 (seqeval's zero_division), recall 0.
  const EntityMetrics none = entity_metrics(truth, {{"O", "O", "O", "O"}, {"O", "O", "O"}});
  EXPECT_EQ(none.predicted_chunks, 0);
  EXPECT_DOUBLE_EQ(none.precision, 0.0);
  EXPECT_DOUBLE_EQ(none.recall, 0.0);
  EXPECT_DOUBLE_EQ(none.f1, 0.0);
  // Sentences must pair up.
  EXPECT_THROW(entity_metrics(truth, {{"O"}}), Error);
  EXPECT_THROW(entity_metrics(truth, {{"O", "O", "O", "O"}, {"O"}}), Error);
}

// ------------------------------------------------------------------------------------------------
// SVG: a minimal XML well-formedness check (tags balance, attributes quoted, entities known).

struct XmlCheck {
  bool ok = true;
  std::string error;
  std::vector<std::string> elements;  // every start tag, in order
};

XmlCheck check_xml(const std::string& s) {
  XmlCheck r;
  std::vector<std::string> stack;
  auto fail = [&](const std::string& why, size_t at) {
    r.ok = false;
    r.error = why + " at byte " + std::to_string(at);
    return r;
  };
  size_t i = 0;
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  bool seen_root = false;
  while (i < s.size()) {
    if (s[i] == '&') {
      static const std::regex entity("^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
      if (!std::regex_search(s.substr(i, 12), entity)) return fail("bad entity", i);
      ++i;
      continue;
    }
    if (s[i] == '>') return fail("stray >", i);
    if (s[i] != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(s[i]))) return fail("text outside the root", i);
      ++i;
      continue;
    }
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return fail("unterminated tag", i);
    std::string tag = s.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) return fail("< inside a tag", i);
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return fail("mismatched </" + name + ">", i);
      stack.pop_back();
    } else {
      const bool self_closing = !tag.empty() && tag.back() == '/';
      if (self_closing) tag.pop_back();
      const size_t sp = tag.find_first_of(" \n\t");
      const std::string name = tag.substr(0, sp);
      if (name.empty()) return fail("empty tag name", i);
      // attributes: name="value" pairs, values without '<' or unescaped '&'
      static const std::regex attrs(R"(^(\s+[A-Za-z_:][-A-Za-z0-9_:.]*="[^"<]*")*\s*$)");
      if (sp != std::string::npos && !std::regex_match(tag.substr(sp), attrs)) return fail("bad attributes in <" + name, i);
      if (stack.empty() && seen_root) return fail("second root", i);
      seen_root = true;
      r.elements.push_back(name);
      if (!self_closing) stack.push_back(name);
    }
    i = end + 1;
  }
  if (!stack.empty()) return fail("unclosed <" + stack.back() + ">", s.size());
  if (!seen_root) return fail("no root element", 0);
  return r;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(TrainMetricsSvg, WellFormedWithBothPanels) {
  TrainingCurves c;
  c.title = "thucnews <tiny> & \"friends\"";
  c.subtitle = "labels: 体育, 财经";
  for (int s = 1; s <= 939; ++s) c.step_loss.emplace_back(s, 2.3 * std::exp(-s / 300.0) + 0.05 * std::sin(s));
  for (int s = 1; s <= 939; ++s) c.step_accuracy.emplace_back(s, 1 - std::exp(-s / 200.0));
  c.epochs = {{1, 313, 1.6, 0.9, 0.70, 0.69}, {2, 626, 0.7, 0.75, 0.77, 0.765}, {3, 939, 0.5, 0.72, 0.79, 0.788}};
  const std::string svg = training_curves_svg(c);
  const XmlCheck x = check_xml(svg);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_EQ(x.elements.front(), "svg");
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("<title>thucnews &lt;tiny&gt; &amp; &quot;friends&quot;</title>"), std::string::npos);
  EXPECT_NE(svg.find("labels: 体育, 财经"), std::string::npos);
  EXPECT_NE(svg.find("<g id=\"loss\" class=\"panel\">"), std::string::npos);
  EXPECT_NE(svg.find("<g id=\"accuracy\" class=\"panel\">"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  // data: one line per series, markers for each epoch point (legend circles are not class="marker")
  EXPECT_EQ(count(svg, "data-series=\"train loss (step)\""), 1u);
  EXPECT_EQ(count(svg, "<polyline class=\"series\" data-series=\"eval loss (epoch)\""), 1u);
  EXPECT_EQ(count(svg, "<circle class=\"marker\" data-series=\"eval loss (epoch)\""), 3u);
  EXPECT_EQ(count(svg, "<circle class=\"marker\" data-series=\"eval accuracy\""), 3u);
  EXPECT_EQ(count(svg, "<circle class=\"marker\" data-series=\"eval macro-F1\""), 3u);
  EXPECT_EQ(count(svg, "<circle class=\"marker\" data-series=\"train loss (epoch)\""), 3u);
  EXPECT_NE(svg.find("data-series=\"train acc, 25-step avg\""), std::string::npos);
  // the per-step polyline holds every step
  const size_t p = svg.find("data-series=\"train loss (step)\"");
  const size_t q = svg.find("points=\"", p) + 8;
  const std::string pts = svg.substr(q, svg.find('"', q) - q);
  EXPECT_EQ(count(pts, ",") , 939u);
  // axes: labels, epoch marks in both panels, tick labels of the step axis
  EXPECT_EQ(count(svg, ">step</text>"), 2u);
  EXPECT_EQ(count(svg, ">epoch 3</text>"), 2u);
  EXPECT_NE(svg.find(">loss</text>"), std::string::npos);
  EXPECT_NE(svg.find(">accuracy</text>"), std::string::npos);
  EXPECT_NE(svg.find(">800</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.5</text>"), std::string::npos);
  // a Pearson curve below 0 switches the panel to -1..1 in steps of 0.25, written exactly
  c.accuracy_title = "Pearson r";
  c.step_accuracy.clear();
  c.epochs[0].eval_accuracy = -0.3;
  const std::string r = training_curves_svg(c);
  ASSERT_TRUE(check_xml(r).ok);
  EXPECT_NE(r.find(">-0.75</text>"), std::string::npos);
  EXPECT_NE(r.find(">0.25</text>"), std::string::npos);
  EXPECT_NE(r.find(">Pearson r</text>"), std::string::npos);
}

TEST(TrainMetricsSvg, EmptyAndNaNInputsStayValid) {
  TrainingCurves c;  // nothing at all
  std::string svg = training_curves_svg(c);
  XmlCheck x = check_xml(svg);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_EQ(count(svg, ">no data</text>"), 2u);

  // one epoch, eval loss missing, a NaN step loss breaks the line into two
  c.step_loss = {{1, 2.0}, {2, 1.5}, {3, NAN}, {4, 1.0}, {5, 0.9}};
  c.epochs = {{1, 5}};
  c.epochs[0].eval_accuracy = 0.5;
  c.smooth_window = 1;
  svg = training_curves_svg(c);
  x = check_xml(svg);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline class=\"series\" data-series=\"train loss (step)\""), 2u);
  EXPECT_EQ(count(svg, "<circle class=\"marker\" data-series=\"eval accuracy\""), 1u);
  EXPECT_EQ(count(svg, "data-series=\"eval loss (epoch)\""), 0u);
  EXPECT_EQ(count(svg, ">no data</text>"), 0u);

  // the checker itself catches broken XML
  EXPECT_FALSE(check_xml("<svg><g></svg>").ok);
  EXPECT_FALSE(check_xml("<svg>a & b</svg>").ok);
  EXPECT_FALSE(check_xml("<svg x=1/>").ok);
  EXPECT_TRUE(check_xml("<svg x=\"1\"><g/></svg>").ok);
}

}  // namespace
}  // namespace ernie

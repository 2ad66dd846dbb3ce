// Evaluation metrics for fine-tuning (ernie train): confusion matrix, accuracy, per-class and
// macro/weighted precision/recall/F1 with scikit-learn's definitions, classification reports (text
// like sklearn's classification_report, and JSON), multi-label and regression metrics, and the
// entity (chunk) metrics of token classification as seqeval / conlleval compute them.
//
// sklearn conventions followed (sklearn.metrics, default arguments):
//  * precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2PR / (P + R); a 0/0 ratio is 0
//    (zero_division="warn" behaves as 0), and F1 = 0 when P + R = 0.
//  * macro average = unweighted mean over the classes present in the truth OR the predictions
//    (labels=None: sklearn uses unique_labels(y_true, y_pred)). A class with zero support and
//    zero predictions is left out of the macro average (it still appears, all zeros, in the
//    per-class table). A class that is predicted but never true counts, with F1 = 0.
//  * weighted average = mean weighted by support (such classes weigh 0 anyway).
//  * accuracy = trace / total.
// Multi-label (y as 0/1 per label; a prediction is positive when its logit > 0, i.e. sigmoid > 0.5,
// as transformers' run_classification.py does): macro F1 is over all labels (sklearn uses every
// column of an indicator matrix), a label with tp + fp + fn = 0 has F1 = 0 (zero_division); micro
// F1 = 2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn)); subset accuracy = rows predicted exactly.
// Regression: MSE, Pearson r and Spearman rho (Pearson of average ranks, ties share their mean
// rank, like scipy); a correlation with a constant input is NaN (scipy also gives nan); JSON
// writes NaN as null.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ernie {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int32_t num_classes);
  void add(int32_t truth, int32_t predicted);  // throws ernie::Error when out of range
  int64_t at(int32_t truth, int32_t predicted) const { return counts_[static_cast<size_t>(truth) * n_ + predicted]; }
  int32_t size() const { return n_; }
  int64_t total() const { return total_; }
  int64_t correct() const;
  // Rows = truth, columns = predictions, row-major.
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  int32_t n_;
  int64_t total_ = 0;
  std::vector<int64_t> counts_;
};

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;    // true examples of the class
  int64_t predicted = 0;  // examples predicted as the class
};

struct ClassificationMetrics {
  std::vector<ClassMetrics> classes;
  double accuracy = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
  int64_t total = 0;
  int32_t averaged_classes = 0;  // classes in the macro average (support or predictions > 0)
};

ClassificationMetrics classification_metrics(const ConfusionMatrix& cm);

// Like sklearn.metrics.classification_report(y_true, y_pred, labels=range(N), target_names=names,
// digits=digits) except that the macro avg is the sklearn labels=None one above (identical when
// every class is present). Widths count code points, as Python does. `names` may be empty
// ("0", "1", ... are used) and must otherwise have one entry per class.
std::string classification_report_text(const ClassificationMetrics& m, const std::vector<std::string>& names,
                                       int digits = 4);
// {"accuracy":..,"macro_precision":..,"macro_recall":..,"macro_f1":..,"weighted_precision":..,
//  "weighted_recall":..,"weighted_f1":..,"total":N,
//  "classes":[{"label":"name","index":i,"precision":..,"recall":..,"f1":..,"support":n,"predicted":n},..]}
std::string classification_report_json(const ClassificationMetrics& m, const std::vector<std::string>& names);

// The matrix as aligned text: a header row of predicted labels, one row per true label (names
// truncated to 16 code points in the header; rows = truth, columns = predicted).
std::string confusion_matrix_text(const ConfusionMatrix& cm, const std::vector<std::string>& names);
// {"labels":[..],"rows":"truth","columns":"predicted","matrix":[[..],..]}
std::string confusion_matrix_json(const ConfusionMatrix& cm, const std::vector<std::string>& names);

// ------------------------------------------------------------------------------------------------
struct MultiLabelMetrics {
  std::vector<ClassMetrics> labels;  // per label (support = true positives in the data)
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double subset_accuracy = 0;  // rows whose every label is right
  double hamming_loss = 0;     // wrong (row, label) cells / all cells
  int64_t rows = 0;
};

// logits and targets: [rows, num_labels] row-major; a target > 0.5 is positive.
MultiLabelMetrics multilabel_metrics(const std::vector<float>& logits, const std::vector<float>& targets,
                                     int32_t num_labels);
std::string multilabel_report_json(const MultiLabelMetrics& m, const std::vector<std::string>& names);

// ------------------------------------------------------------------------------------------------
struct RegressionMetrics {
  double mse = 0, rmse = 0, mae = 0, pearson = 0, spearman = 0;
  int64_t count = 0;
};

// predictions and targets of equal length (all outputs of all rows, flattened).
RegressionMetrics regression_metrics(const std::vector<float>& predictions, const std::vector<float>& targets);
std::string regression_report_json(const RegressionMetrics& m);

// ------------------------------------------------------------------------------------------------
// Entities of tag sequences (token classification), as seqeval's default mode and conlleval:
//  * a tag is "O" or PREFIX-TYPE with PREFIX one of B, I, E, S (IOB2, IOB1 and IOBES all work);
//    any other tag (no such prefix: "LOC", "B-") is a one-word chunk whose type is the whole tag.
//  * I-X or E-X continues the open chunk when it has type X and has not ended; otherwise it starts
//    a new chunk of X (I-X after O or after another type: a new chunk, as IOB1 reads it).
//  * B-X and S-X start a new chunk; O ends the open one; E-X and S-X end their chunk after them.
// A predicted chunk is correct when its type, first and last word all equal a true chunk's.
// Chunks never cross sentences. Micro P/R/F1 count chunks over all types; per type the sklearn
// conventions above (0/0 = 0); the macro average is over the types of the truth OR the
// predictions (seqeval), the weighted average by true chunks.
struct Chunk {
  std::string type;
  int64_t begin = 0, end = 0;   // words [begin, end)
  bool operator==(const Chunk&) const = default;
};

std::vector<Chunk> extract_chunks(const std::vector<std::string>& tags);

struct EntityMetrics {
  std::vector<std::string> types;       // sorted (byte order)
  std::vector<ClassMetrics> per_type;   // support = true chunks, predicted = predicted chunks
  double precision = 0, recall = 0, f1 = 0;   // micro
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
  int64_t true_chunks = 0, predicted_chunks = 0, correct_chunks = 0;
};

// truth[i] and predicted[i]: the tags of sentence i (equal lengths, else ernie::Error).
EntityMetrics entity_metrics(const std::vector<std::vector<std::string>>& truth,
                             const std::vector<std::vector<std::string>>& predicted);
// seqeval's classification_report layout: one row per type, then micro, macro and weighted avg.
std::string entity_report_text(const EntityMetrics& m, int digits = 4);
// {"precision":..,"recall":..,"f1":..,"macro_precision":..,"macro_recall":..,"macro_f1":..,
//  "weighted_precision":..,"weighted_recall":..,"weighted_f1":..,"true_entities":n,
//  "predicted_entities":n,"correct_entities":n,"types":[{"label":"LOC","index":i,..},..]}
std::string entity_report_json(const EntityMetrics& m);

// Helpers shared by the reports: a JSON number with up to 6 significant decimals ("null" for NaN /
// infinity), and a JSON string literal (quotes, escapes; input must be UTF-8).
std::string json_number(double v);
std::string json_string(const std::string& s);

}  // namespace ernie

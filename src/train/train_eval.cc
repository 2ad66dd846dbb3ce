// Evaluation during ernie train: forward passes over a rank's share of the eval set, logits
// gathered so that every rank computes the same metrics (and the same early-stopping decision).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "ernie/metrics.h"
#include "train/loop.h"

namespace ernie::train {


// Token classification: token accuracy over the tagged words (their first pieces) and entity
// P/R/F1 over the chunks of each sentence's tagged words (ernie/metrics.h).
void token_metrics(const Encoded& e, const std::vector<float>& logits, const std::vector<std::string>& names,
                   EvalResult& out) {
  const auto N = static_cast<int64_t>(names.size());
  ConfusionMatrix cm(static_cast<int32_t>(N));
  std::vector<std::vector<std::string>> truth(e.token_labels.size()), predicted(e.token_labels.size());
  int64_t t = 0;   // row into logits [T, N]
  for (size_t i = 0; i < e.token_labels.size(); ++i)
    for (const int32_t label : e.token_labels[i]) {
      const float* z = logits.data() + t++ * N;
      if (label == -100) continue;
      const auto p = static_cast<int32_t>(std::max_element(z, z + N) - z);
      cm.add(label, p);
      truth[i].push_back(names[label]);
      predicted[i].push_back(names[p]);
    }
  const EntityMetrics m = entity_metrics(truth, predicted);
  out.accuracy = classification_metrics(cm).accuracy;
  out.macro_f1 = m.macro_f1;
  out.entity_precision = m.precision;
  out.entity_recall = m.recall;
  out.entity_f1 = m.f1;
  out.score = m.f1;
  char accuracy[64];
  std::snprintf(accuracy, sizeof accuracy, "token accuracy %.4f (%lld tagged words)\n\n", out.accuracy,
                static_cast<long long>(cm.total()));
  out.report_text = accuracy + std::string("Entities (micro avg: every chunk counts once)\n") + entity_report_text(m) +
                    "\nTag confusion matrix (rows: truth, columns: predicted)\n" + confusion_matrix_text(cm, names);
  out.report_json = "{\"token_accuracy\":" + json_number(out.accuracy) + ",\"tagged_words\":" +
                    std::to_string(cm.total()) + ",\"entities\":" + entity_report_json(m) +
                    ",\"confusion_matrix\":" + confusion_matrix_json(cm, names) + "}";
}

EvalResult evaluate(TrainableModel& model, const Encoded& e, TaskType task, const std::vector<std::string>& names,
                    int64_t batch_size, dist::Communicator& comm) {
  const Config& cfg = model.config();
  const int64_t n = static_cast<int64_t>(e.encs.size()), N = cfg.num_labels();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const dist::Range mine = dist::share(n, comm.rank(), comm.size());
  std::vector<float> logits;
  double sums[2] = {0, 0};   // loss * weight, weight
  for (int64_t b = mine.begin; b < mine.end; b += batch_size) {
    const int64_t end = std::min(mine.end, b + batch_size);
    const Slice s = make_slice(e, order, b, end, cfg);
    const StepResult r = model.evaluate(s.batch, s.targets);
    // The batch's loss is a mean over its rows, or over its tagged tokens (token classification).
    const auto weight = static_cast<double>(loss_weight(e, order, b, end));
    sums[0] += r.loss * weight;
    sums[1] += weight;
    logits.insert(logits.end(), r.logits.data<float>(), r.logits.data<float>() + r.logits.numel());
  }
  if (comm.size() > 1) {   // every rank's logits, in rank order = row order
    comm.allreduce_sum(sums, 2);
    std::string all;
    for (const std::string& part :
         comm.allgather_bytes(std::string(reinterpret_cast<const char*>(logits.data()), logits.size() * sizeof(float))))
      all += part;
    logits.resize(all.size() / sizeof(float));
    std::memcpy(logits.data(), all.data(), all.size());
  }
  EvalResult out;
  out.loss = sums[0] / std::max(sums[1], 1.0);
  if (task == TaskType::TokenClassification) {
    token_metrics(e, logits, names, out);
  } else if (task == TaskType::SingleLabel) {
    ConfusionMatrix cm(static_cast<int32_t>(N));
    for (int64_t i = 0; i < n; ++i) {
      const float* z = logits.data() + i * N;
      cm.add(e.labels[i], static_cast<int32_t>(std::max_element(z, z + N) - z));
    }
    const ClassificationMetrics m = classification_metrics(cm);
    out.accuracy = m.accuracy;
    out.macro_f1 = m.macro_f1;
    out.score = m.accuracy;
    out.report_text = classification_report_text(m, names) + "\nConfusion matrix (rows: truth, columns: predicted)\n" +
                      confusion_matrix_text(cm, names);
    out.report_json = "{\"report\":" + classification_report_json(m, names) +
                      ",\"confusion_matrix\":" + confusion_matrix_json(cm, names) + "}";
  } else if (task == TaskType::MultiLabel) {
    const MultiLabelMetrics m = multilabel_metrics(logits, e.targets, static_cast<int32_t>(N));
    out.accuracy = m.subset_accuracy;
    out.macro_f1 = m.macro_f1;
    out.score = m.micro_f1;
    out.report_json = multilabel_report_json(m, names);
    out.report_text = out.report_json + "\n";
  } else {
    const RegressionMetrics m = regression_metrics(logits, e.targets);
    out.accuracy = out.macro_f1 = NAN;
    out.score = -m.mse;
    out.report_json = regression_report_json(m);
    out.report_text = out.report_json + "\n";
  }
  return out;
}

}  // namespace ernie::train

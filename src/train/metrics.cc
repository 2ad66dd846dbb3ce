// Metrics and reports for fine-tuning; the definitions are in include/ernie/metrics.h.
#include "ernie/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <string_view>

#include "ernie/error.h"

namespace ernie {

// ------------------------------------------------------------------------------------------------
// helpers

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `max` code points of s.
std::string prefix_code_points(const std::string& s, size_t max) {
  size_t n = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == max) break;
      ++n;
    }
  }
  return s.substr(0, i);
}

std::string pad_left(const std::string& s, size_t width) {
  const size_t n = code_points(s);
  return n >= width ? s : std::string(width - n, ' ') + s;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

double f1_of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

std::string name_of(const std::vector<std::string>& names, size_t i) {
  return i < names.size() ? names[i] : std::to_string(i);
}

void check_names(const std::vector<std::string>& names, size_t n) {
  if (!names.empty() && names.size() != n)
    throw Error("report: " + std::to_string(names.size()) + " label names for " + std::to_string(n) + " classes");
}

// sklearn's report layout: width = max(len(longest name), len("weighted avg"), digits); every
// column "{:>9}" preceded by a space, the name column followed by one.
size_t report_width(const std::vector<std::string>& names, size_t rows, int digits) {
  size_t width = std::max<size_t>(12, static_cast<size_t>(std::max(digits, 0)));
  for (size_t i = 0; i < rows; ++i) width = std::max(width, code_points(name_of(names, i)));
  return width;
}

std::string report_column(const std::string& s) { return " " + pad_left(s, 9); }

std::string report_header(size_t width) {
  return pad_left("", width) + " " + report_column("precision") + report_column("recall") +
         report_column("f1-score") + report_column("support") + "\n\n";
}

std::string report_row(size_t width, const std::string& name, double p, double r, double f, int64_t support,
                       int digits) {
  return pad_left(name, width) + " " + report_column(fixed(p, digits)) + report_column(fixed(r, digits)) +
         report_column(fixed(f, digits)) + report_column(std::to_string(support)) + "\n";
}

std::string class_json(const ClassMetrics& c, const std::string& name, size_t index) {
  return "{\"label\":" + json_string(name) + ",\"index\":" + std::to_string(index) +
         ",\"precision\":" + json_number(c.precision) + ",\"recall\":" + json_number(c.recall) +
         ",\"f1\":" + json_number(c.f1) + ",\"support\":" + std::to_string(c.support) +
         ",\"predicted\":" + std::to_string(c.predicted) + "}";
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// single-label classification

ConfusionMatrix::ConfusionMatrix(int32_t num_classes) : n_(num_classes) {
  if (num_classes <= 0) throw Error("confusion matrix: need at least one class");
  counts_.assign(static_cast<size_t>(n_) * n_, 0);
}

void ConfusionMatrix::add(int32_t truth, int32_t predicted) {
  if (truth < 0 || truth >= n_ || predicted < 0 || predicted >= n_)
    throw Error("confusion matrix: label " + std::to_string(truth) + " / prediction " + std::to_string(predicted) +
                " outside 0.." + std::to_string(n_ - 1));
  ++counts_[static_cast<size_t>(truth) * n_ + predicted];
  ++total_;
}

int64_t ConfusionMatrix::correct() const {
  int64_t c = 0;
  for (int32_t i = 0; i < n_; ++i) c += at(i, i);
  return c;
}

ClassificationMetrics classification_metrics(const ConfusionMatrix& cm) {
  const int32_t n = cm.size();
  ClassificationMetrics m;
  m.total = cm.total();
  m.accuracy = ratio(static_cast<double>(cm.correct()), static_cast<double>(cm.total()));
  m.classes.resize(n);
  for (int32_t k = 0; k < n; ++k) {
    ClassMetrics& c = m.classes[k];
    for (int32_t j = 0; j < n; ++j) {
      c.support += cm.at(k, j);
      c.predicted += cm.at(j, k);
    }
    const double tp = static_cast<double>(cm.at(k, k));
    c.precision = ratio(tp, static_cast<double>(c.predicted));
    c.recall = ratio(tp, static_cast<double>(c.support));
    c.f1 = f1_of(c.precision, c.recall);
    if (c.support > 0 || c.predicted > 0) {
      ++m.averaged_classes;
      m.macro_precision += c.precision;
      m.macro_recall += c.recall;
      m.macro_f1 += c.f1;
    }
    const double w = static_cast<double>(c.support);
    m.weighted_precision += w * c.precision;
    m.weighted_recall += w * c.recall;
    m.weighted_f1 += w * c.f1;
  }
  if (m.averaged_classes > 0) {
    m.macro_precision /= m.averaged_classes;
    m.macro_recall /= m.averaged_classes;
    m.macro_f1 /= m.averaged_classes;
  }
  const double total = static_cast<double>(m.total);
  m.weighted_precision = ratio(m.weighted_precision, total);
  m.weighted_recall = ratio(m.weighted_recall, total);
  m.weighted_f1 = ratio(m.weighted_f1, total);
  return m;
}

std::string classification_report_text(const ClassificationMetrics& m, const std::vector<std::string>& names,
                                       int digits) {
  check_names(names, m.classes.size());
  const size_t width = report_width(names, m.classes.size(), digits);
  std::string out = report_header(width);
  for (size_t i = 0; i < m.classes.size(); ++i) {
    const ClassMetrics& c = m.classes[i];
    out += report_row(width, name_of(names, i), c.precision, c.recall, c.f1, c.support, digits);
  }
  out += "\n";
  out += pad_left("accuracy", width) + " " + report_column("") + report_column("") +
         report_column(fixed(m.accuracy, digits)) + report_column(std::to_string(m.total)) + "\n";
  out += report_row(width, "macro avg", m.macro_precision, m.macro_recall, m.macro_f1, m.total, digits);
  out += report_row(width, "weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_f1, m.total, digits);
  return out;
}

std::string classification_report_json(const ClassificationMetrics& m, const std::vector<std::string>& names) {
  check_names(names, m.classes.size());
  std::string out = "{\"accuracy\":" + json_number(m.accuracy) + ",\"macro_precision\":" +
                    json_number(m.macro_precision) + ",\"macro_recall\":" + json_number(m.macro_recall) +
                    ",\"macro_f1\":" + json_number(m.macro_f1) + ",\"weighted_precision\":" +
                    json_number(m.weighted_precision) + ",\"weighted_recall\":" + json_number(m.weighted_recall) +
                    ",\"weighted_f1\":" + json_number(m.weighted_f1) + ",\"total\":" + std::to_string(m.total) +
                    ",\"classes\":[";
  for (size_t i = 0; i < m.classes.size(); ++i) out += (i ? "," : "") + class_json(m.classes[i], name_of(names, i), i);
  return out + "]}";
}

std::string confusion_matrix_text(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const size_t n = static_cast<size_t>(cm.size());
  check_names(names, n);
  std::vector<std::string> head(n);
  size_t row_width = std::string("truth \\ predicted").size(), cell = 1;
  for (size_t i = 0; i < n; ++i) {
    head[i] = prefix_code_points(name_of(names, i), 16);
    row_width = std::max(row_width, code_points(name_of(names, i)));
    cell = std::max(cell, code_points(head[i]));
  }
  for (int64_t v : cm.counts()) cell = std::max(cell, std::to_string(v).size());
  auto pad_right = [](const std::string& s, size_t w) {
    const size_t k = code_points(s);
    return k >= w ? s : s + std::string(w - k, ' ');
  };
  std::string out = pad_right("truth \\ predicted", row_width);
  for (size_t j = 0; j < n; ++j) out += "  " + pad_left(head[j], cell);
  out += "\n";
  for (size_t i = 0; i < n; ++i) {
    out += pad_right(name_of(names, i), row_width);
    for (size_t j = 0; j < n; ++j)
      out += "  " + pad_left(std::to_string(cm.at(static_cast<int32_t>(i), static_cast<int32_t>(j))), cell);
    out += "\n";
  }
  return out;
}

std::string confusion_matrix_json(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const size_t n = static_cast<size_t>(cm.size());
  check_names(names, n);
  std::string out = "{\"labels\":[";
  for (size_t i = 0; i < n; ++i) out += (i ? "," : "") + json_string(name_of(names, i));
  out += "],\"rows\":\"truth\",\"columns\":\"predicted\",\"matrix\":[";
  for (size_t i = 0; i < n; ++i) {
    out += i ? ",[" : "[";
    for (size_t j = 0; j < n; ++j)
      out += (j ? "," : "") + std::to_string(cm.at(static_cast<int32_t>(i), static_cast<int32_t>(j)));
    out += "]";
  }
  return out + "]}";
}

// ------------------------------------------------------------------------------------------------
// multi-label

MultiLabelMetrics multilabel_metrics(const std::vector<float>& logits, const std::vector<float>& targets,
                                     int32_t num_labels) {
  if (num_labels <= 0) throw Error("multi-label metrics: need at least one label");
  if (logits.size() != targets.size() || logits.size() % num_labels != 0)
    throw Error("multi-label metrics: " + std::to_string(logits.size()) + " logits and " +
                std::to_string(targets.size()) + " targets for " + std::to_string(num_labels) + " labels");
  MultiLabelMetrics m;
  m.rows = static_cast<int64_t>(logits.size() / num_labels);
  m.labels.resize(num_labels);
  std::vector<int64_t> tp(num_labels, 0);
  int64_t exact = 0, wrong = 0;
  for (int64_t r = 0; r < m.rows; ++r) {
    bool all_right = true;
    for (int32_t k = 0; k < num_labels; ++k) {
      const size_t i = static_cast<size_t>(r) * num_labels + k;
      const bool pred = logits[i] > 0.0f, truth = targets[i] > 0.5f;
      m.labels[k].support += truth;
      m.labels[k].predicted += pred;
      tp[k] += pred && truth;
      if (pred != truth) {
        all_right = false;
        ++wrong;
      }
    }
    exact += all_right;
  }
  int64_t sum_tp = 0, sum_pred = 0, sum_true = 0;
  for (int32_t k = 0; k < num_labels; ++k) {
    ClassMetrics& c = m.labels[k];
    c.precision = ratio(static_cast<double>(tp[k]), static_cast<double>(c.predicted));
    c.recall = ratio(static_cast<double>(tp[k]), static_cast<double>(c.support));
    c.f1 = f1_of(c.precision, c.recall);
    m.macro_precision += c.precision / num_labels;
    m.macro_recall += c.recall / num_labels;
    m.macro_f1 += c.f1 / num_labels;
    sum_tp += tp[k];
    sum_pred += c.predicted;
    sum_true += c.support;
  }
  m.micro_precision = ratio(static_cast<double>(sum_tp), static_cast<double>(sum_pred));
  m.micro_recall = ratio(static_cast<double>(sum_tp), static_cast<double>(sum_true));
  m.micro_f1 = ratio(2.0 * sum_tp, static_cast<double>(sum_pred + sum_true));  // 2tp / (2tp + fp + fn)
  m.subset_accuracy = ratio(static_cast<double>(exact), static_cast<double>(m.rows));
  m.hamming_loss = ratio(static_cast<double>(wrong), static_cast<double>(logits.size()));
  return m;
}

std::string multilabel_report_json(const MultiLabelMetrics& m, const std::vector<std::string>& names) {
  check_names(names, m.labels.size());
  std::string out = "{\"subset_accuracy\":" + json_number(m.subset_accuracy) + ",\"hamming_loss\":" +
                    json_number(m.hamming_loss) + ",\"micro_precision\":" + json_number(m.micro_precision) +
                    ",\"micro_recall\":" + json_number(m.micro_recall) + ",\"micro_f1\":" + json_number(m.micro_f1) +
                    ",\"macro_precision\":" + json_number(m.macro_precision) + ",\"macro_recall\":" +
                    json_number(m.macro_recall) + ",\"macro_f1\":" + json_number(m.macro_f1) +
                    ",\"rows\":" + std::to_string(m.rows) + ",\"labels\":[";
  for (size_t i = 0; i < m.labels.size(); ++i) out += (i ? "," : "") + class_json(m.labels[i], name_of(names, i), i);
  return out + "]}";
}

// ------------------------------------------------------------------------------------------------
// entities (token classification)

namespace {

// "O" -> ('O', ""); "B-LOC" -> ('B', "LOC") for B, I, E, S; anything else a one-word chunk ('S', tag).
std::pair<char, std::string> split_tag(const std::string& tag) {
  if (tag == "O") return {'O', ""};
  if (tag.size() > 2 && tag[1] == '-' && std::string_view("BIES").find(tag[0]) != std::string_view::npos)
    return {tag[0], tag.substr(2)};
  return {'S', tag};
}

}  // namespace

std::vector<Chunk> extract_chunks(const std::vector<std::string>& tags) {
  std::vector<Chunk> out;
  Chunk open;
  bool is_open = false;
  auto close = [&](int64_t end) {
    if (!is_open) return;
    open.end = end;
    out.push_back(open);
    is_open = false;
  };
  const auto n = static_cast<int64_t>(tags.size());
  for (int64_t i = 0; i < n; ++i) {
    auto [prefix, type] = split_tag(tags[i]);
    const bool continues = is_open && (prefix == 'I' || prefix == 'E') && open.type == type;
    if (!continues) {
      close(i);
      if (prefix != 'O') {
        open = {std::move(type), i, i};
        is_open = true;
      }
    }
    if (prefix == 'E' || prefix == 'S') close(i + 1);
  }
  close(n);
  return out;
}

EntityMetrics entity_metrics(const std::vector<std::vector<std::string>>& truth,
                             const std::vector<std::vector<std::string>>& predicted) {
  if (truth.size() != predicted.size())
    throw Error("entity metrics: " + std::to_string(truth.size()) + " true and " + std::to_string(predicted.size()) +
                " predicted sentences");
  struct Counts {
    int64_t truth = 0, predicted = 0, correct = 0;
  };
  std::map<std::string, Counts> by_type;   // sorted by type
  for (size_t s = 0; s < truth.size(); ++s) {
    if (truth[s].size() != predicted[s].size())
      throw Error("entity metrics: sentence " + std::to_string(s) + " has " + std::to_string(truth[s].size()) +
                  " true and " + std::to_string(predicted[s].size()) + " predicted tags");
    const std::vector<Chunk> t = extract_chunks(truth[s]), p = extract_chunks(predicted[s]);
    for (const Chunk& c : t) ++by_type[c.type].truth;
    for (const Chunk& c : p) {
      ++by_type[c.type].predicted;
      if (std::find(t.begin(), t.end(), c) != t.end()) ++by_type[c.type].correct;
    }
  }
  EntityMetrics m;
  for (const auto& [type, k] : by_type) {
    ClassMetrics c;
    c.support = k.truth;
    c.predicted = k.predicted;
    c.precision = ratio(static_cast<double>(k.correct), static_cast<double>(k.predicted));
    c.recall = ratio(static_cast<double>(k.correct), static_cast<double>(k.truth));
    c.f1 = f1_of(c.precision, c.recall);
    m.types.push_back(type);
    m.per_type.push_back(c);
    m.true_chunks += k.truth;
    m.predicted_chunks += k.predicted;
    m.correct_chunks += k.correct;
    m.macro_precision += c.precision;
    m.macro_recall += c.recall;
    m.macro_f1 += c.f1;
    m.weighted_precision += static_cast<double>(k.truth) * c.precision;
    m.weighted_recall += static_cast<double>(k.truth) * c.recall;
    m.weighted_f1 += static_cast<double>(k.truth) * c.f1;
  }
  const double types = static_cast<double>(m.types.size()), total = static_cast<double>(m.true_chunks);
  m.macro_precision = ratio(m.macro_precision, types);
  m.macro_recall = ratio(m.macro_recall, types);
  m.macro_f1 = ratio(m.macro_f1, types);
  m.weighted_precision = ratio(m.weighted_precision, total);
  m.weighted_recall = ratio(m.weighted_recall, total);
  m.weighted_f1 = ratio(m.weighted_f1, total);
  m.precision = ratio(static_cast<double>(m.correct_chunks), static_cast<double>(m.predicted_chunks));
  m.recall = ratio(static_cast<double>(m.correct_chunks), total);
  m.f1 = f1_of(m.precision, m.recall);
  return m;
}

std::string entity_report_text(const EntityMetrics& m, int digits) {
  const size_t width = report_width(m.types, m.types.size(), digits);
  std::string out = report_header(width);
  for (size_t i = 0; i < m.types.size(); ++i) {
    const ClassMetrics& c = m.per_type[i];
    out += report_row(width, m.types[i], c.precision, c.recall, c.f1, c.support, digits);
  }
  out += "\n";
  out += report_row(width, "micro avg", m.precision, m.recall, m.f1, m.true_chunks, digits);
  out += report_row(width, "macro avg", m.macro_precision, m.macro_recall, m.macro_f1, m.true_chunks, digits);
  out += report_row(width, "weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_f1, m.true_chunks,
                    digits);
  return out;
}

std::string entity_report_json(const EntityMetrics& m) {
  std::string out = "{\"precision\":" + json_number(m.precision) + ",\"recall\":" + json_number(m.recall) +
                    ",\"f1\":" + json_number(m.f1) + ",\"macro_precision\":" + json_number(m.macro_precision) +
                    ",\"macro_recall\":" + json_number(m.macro_recall) + ",\"macro_f1\":" + json_number(m.macro_f1) +
                    ",\"weighted_precision\":" + json_number(m.weighted_precision) + ",\"weighted_recall\":" +
                    json_number(m.weighted_recall) + ",\"weighted_f1\":" + json_number(m.weighted_f1) +
                    ",\"true_entities\":" + std::to_string(m.true_chunks) + ",\"predicted_entities\":" +
                    std::to_string(m.predicted_chunks) + ",\"correct_entities\":" +
                    std::to_string(m.correct_chunks) + ",\"types\":[";
  for (size_t i = 0; i < m.types.size(); ++i) out += (i ? "," : "") + class_json(m.per_type[i], m.types[i], i);
  return out + "]}";
}

// ------------------------------------------------------------------------------------------------
// regression

namespace {

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return std::numeric_limits<double>::quiet_NaN();
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

// 1-based ranks; tied values share the mean of their ranks (scipy.stats.rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

}  // namespace

RegressionMetrics regression_metrics(const std::vector<float>& predictions, const std::vector<float>& targets) {
  if (predictions.size() != targets.size())
    throw Error("regression metrics: " + std::to_string(predictions.size()) + " predictions for " +
                std::to_string(targets.size()) + " targets");
  RegressionMetrics m;
  m.count = static_cast<int64_t>(targets.size());
  if (m.count == 0) {
    m.mse = m.rmse = m.mae = m.pearson = m.spearman = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  std::vector<double> x(predictions.begin(), predictions.end()), y(targets.begin(), targets.end());
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - y[i];
    m.mse += d * d;
    m.mae += std::abs(d);
  }
  m.mse /= m.count;
  m.mae /= m.count;
  m.rmse = std::sqrt(m.mse);
  m.pearson = pearson(x, y);
  m.spearman = pearson(average_ranks(x), average_ranks(y));
  return m;
}

std::string regression_report_json(const RegressionMetrics& m) {
  return "{\"mse\":" + json_number(m.mse) + ",\"rmse\":" + json_number(m.rmse) + ",\"mae\":" + json_number(m.mae) +
         ",\"pearson\":" + json_number(m.pearson) + ",\"spearman\":" + json_number(m.spearman) +
         ",\"count\":" + std::to_string(m.count) + "}";
}

}  // namespace ernie

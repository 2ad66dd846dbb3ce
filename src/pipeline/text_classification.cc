// Text classification (transformers' TextClassificationPipeline.postprocess) and reranking with a
// cross-encoder (text-embeddings-inference's /rerank).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ernie/error.h"
#include "ernie/pipeline.h"
#include "pipeline/encode.h"

namespace ernie::pipeline {

Function parse_function(const std::string& name) {
  if (name == "default" || name.empty()) return Function::Default;
  if (name == "softmax") return Function::Softmax;
  if (name == "sigmoid") return Function::Sigmoid;
  if (name == "none") return Function::None;
  throw Error("function_to_apply must be softmax, sigmoid or none, not '" + name + "'");
}

std::vector<double> apply_function(const float* z, int64_t n, Function f, const Config& cfg) {
  if (f == Function::Default)
    f = cfg.problem_type == "multi_label_classification" || n == 1 ? Function::Sigmoid : Function::Softmax;
  std::vector<double> p(static_cast<size_t>(std::max<int64_t>(0, n)));
  if (n <= 0) return p;
  if (f == Function::Sigmoid) {
    for (int64_t i = 0; i < n; ++i) p[i] = 1.0 / (1.0 + std::exp(-static_cast<double>(z[i])));
  } else if (f == Function::Softmax) {
    const double mx = *std::max_element(z, z + n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += p[i] = std::exp(static_cast<double>(z[i]) - mx);
    for (auto& v : p) v /= sum;
  } else {
    for (int64_t i = 0; i < n; ++i) p[i] = z[i];
  }
  return p;
}

std::vector<Label> rank_labels(const std::vector<double>& scores, const Config& cfg, int64_t top_k) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable, as Python's sort(reverse=True): equal scores keep the label order.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  if (top_k > 0 && order.size() > static_cast<size_t>(top_k)) order.resize(static_cast<size_t>(top_k));
  std::vector<Label> out;
  for (size_t k : order)
    out.push_back({label_name(cfg, k), scores[k]});
  return out;
}

std::vector<std::vector<Label>> text_classification(const Engine& e, const std::vector<TextInput>& inputs,
                                                    const TextClassificationOptions& o) {
  if (o.top_k < 0) throw Error("top_k must be >= 0 (0: every label)");
  std::vector<Encoding> encs;
  encs.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view pair = inputs[i].text_pair;
    encs.push_back(encode_input(e, inputs[i].text, inputs[i].has_pair ? &pair : nullptr, i));
  }
  const auto outs = e.run(encs, Need::SequenceLogits);
  std::vector<std::vector<Label>> result;
  result.reserve(outs.size());
  for (const auto& z : outs)
    result.push_back(rank_labels(apply_function(z.row(0), z.cols, o.function_to_apply, *e.config), *e.config, o.top_k));
  return result;
}

std::vector<RerankHit> rerank(const Engine& e, const std::string& query, const std::vector<std::string>& texts,
                              const RerankOptions& o) {
  std::vector<Encoding> encs;
  encs.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string_view pair = texts[i];
    encs.push_back(encode_input(e, query, &pair, i));
  }
  const auto outs = e.run(encs, Need::SequenceLogits);
  std::vector<RerankHit> hits;
  for (size_t i = 0; i < outs.size(); ++i) {
    const auto& z = outs[i];
    double s = z.row(0)[z.cols - 1];   // one label: the relevance logit; several: the last (positive) label
    if (!o.raw_scores) {
      s = z.cols == 1 ? 1.0 / (1.0 + std::exp(-s))
                      : apply_function(z.row(0), z.cols, Function::Softmax, *e.config).back();
    }
    hits.push_back({i, s, o.return_text ? texts[i] : std::string()});
  }
  std::stable_sort(hits.begin(), hits.end(), [](const RerankHit& a, const RerankHit& b) { return a.score > b.score; });
  return hits;
}

}  // namespace ernie::pipeline

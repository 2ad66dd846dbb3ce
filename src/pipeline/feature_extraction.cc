// Sentence embeddings: pooling over a sequence's hidden states, normalization, similarity.
#include <algorithm>
#include <cmath>

#include "ernie/error.h"
#include "ernie/pipeline.h"
#include "pipeline/encode.h"

namespace ernie::pipeline {

Pooling parse_pooling(const std::string& name) {
  if (name == "cls") return Pooling::Cls;
  if (name == "mean") return Pooling::Mean;
  if (name == "max") return Pooling::Max;
  if (name == "none") return Pooling::None;
  throw Error("pooling must be cls, mean, max or none, not '" + name + "'");
}

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::Cls: return "cls";
    case Pooling::Mean: return "mean";
    case Pooling::Max: return "max";
    case Pooling::None: return "none";
  }
  return "?";
}

void l2_normalize(float* v, int64_t n) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(v[i]) * v[i];
  if (ss <= 0) return;
  // sentence-transformers / torch.nn.functional.normalize divide by max(norm, 1e-12).
  const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(v[i] * inv);
}

SequenceOutput pool(const SequenceOutput& h, const EmbeddingOptions& o) {
  if (h.rows < 1) throw Error("pooling: empty sequence");
  SequenceOutput out;
  const int64_t H = h.cols;
  if (o.pooling == Pooling::None) {
    out = h;
  } else {
    out.rows = 1;
    out.cols = H;
    out.values.assign(static_cast<size_t>(H), 0.0f);
    if (o.pooling == Pooling::Cls) {
      std::copy(h.row(0), h.row(0) + H, out.values.begin());
    } else if (o.pooling == Pooling::Mean) {
      std::vector<double> acc(static_cast<size_t>(H), 0.0);
      for (int64_t t = 0; t < h.rows; ++t)
        for (int64_t k = 0; k < H; ++k) acc[k] += h.row(t)[k];
      for (int64_t k = 0; k < H; ++k) out.values[k] = static_cast<float>(acc[k] / static_cast<double>(h.rows));
    } else {
      std::copy(h.row(0), h.row(0) + H, out.values.begin());
      for (int64_t t = 1; t < h.rows; ++t)
        for (int64_t k = 0; k < H; ++k) out.values[k] = std::max(out.values[k], h.row(t)[k]);
    }
  }
  if (o.normalize)
    for (int64_t r = 0; r < out.rows; ++r) l2_normalize(out.values.data() + r * H, H);
  return out;
}

std::vector<SequenceOutput> embed(const Engine& e, const std::vector<std::string>& texts, const EmbeddingOptions& o,
                                  int64_t* tokens) {
  std::vector<Encoding> encs;
  encs.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) encs.push_back(encode_input(e, texts[i], nullptr, i));
  if (tokens)
    for (const auto& enc : encs) *tokens += static_cast<int64_t>(enc.size());
  auto outs = e.run(encs, Need::Hidden);
  for (auto& h : outs) h = pool(h, o);
  return outs;
}

std::vector<double> similarity(const Engine& e, const std::string& source, const std::vector<std::string>& sentences,
                               const EmbeddingOptions& o) {
  if (o.pooling == Pooling::None) throw Error("similarity needs one vector per text: pooling cls, mean or max");
  std::vector<std::string> all{source};
  all.insert(all.end(), sentences.begin(), sentences.end());
  EmbeddingOptions unit = o;
  unit.normalize = true;   // cosine = dot product of unit vectors
  const auto v = embed(e, all, unit);
  std::vector<double> out;
  for (size_t i = 1; i < v.size(); ++i) {
    double dot = 0;
    for (int64_t k = 0; k < v[0].cols; ++k) dot += static_cast<double>(v[0].values[k]) * v[i].values[k];
    out.push_back(dot);
  }
  return out;
}

}  // namespace ernie::pipeline

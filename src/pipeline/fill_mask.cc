// Fill-mask with transformers' FillMaskPipeline rules: softmax over the vocabulary at each mask
// token (restricted to the targets' ids when given), the top_k candidates, and the text with the
// candidate in place (special tokens dropped when the text holds a single mask).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ernie/error.h"
#include "ernie/pipeline.h"
#include "pipeline/encode.h"

namespace ernie::pipeline {

namespace {

// transformers' get_target_ids: a vocabulary entry, else the first piece of the tokenized target.
std::vector<int32_t> target_ids(const Tokenizer& tok, const std::vector<std::string>& targets) {
  std::vector<int32_t> ids;
  for (const auto& t : targets) {
    int32_t id = tok.vocab().id(t);
    if (id < 0) {
      const auto pieces = tok.tokenize(t, Utf8Errors::Replace);
      if (pieces.empty()) continue;   // nothing to put in the mask's place: ignored, as transformers does
      id = pieces.front().id;
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  if (!targets.empty() && ids.empty()) throw Error("none of the targets is in the vocabulary or tokenizes to a piece");
  return ids;
}

}  // namespace

std::vector<std::vector<MaskFill>> fill_mask_results(const Tokenizer& tok, const Encoding& enc,
                                                     const SequenceOutput& mask_logits, const FillMaskOptions& o) {
  if (o.top_k < 1) throw Error("top_k must be >= 1");
  const std::vector<int32_t> targets = target_ids(tok, o.targets);
  const int64_t V = mask_logits.cols;
  std::vector<size_t> mask_pos;
  for (size_t k = 0; k < enc.size(); ++k)
    if (enc.attention_mask[k] && enc.ids[k] == tok.mask_id()) mask_pos.push_back(k);
  if (static_cast<int64_t>(mask_pos.size()) != mask_logits.rows) throw Error("fill-mask: mask logits and text differ");
  const bool single = mask_pos.size() == 1;
  std::vector<int32_t> ids;   // the text without padding
  for (size_t k = 0; k < enc.size(); ++k)
    if (enc.ids[k] != tok.pad_id()) ids.push_back(enc.ids[k]);
  std::vector<std::vector<MaskFill>> out;
  for (int64_t m = 0; m < mask_logits.rows; ++m) {
    const float* z = mask_logits.row(m);
    const double mx = *std::max_element(z, z + V);
    double sum = 0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(z[v]) - mx);
    std::vector<int32_t> cand = targets;
    if (cand.empty()) {
      cand.resize(static_cast<size_t>(V));
      std::iota(cand.begin(), cand.end(), 0);
    }
    const size_t k = std::min(cand.size(), static_cast<size_t>(o.top_k));
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(k), cand.end(),
                      [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    // Position of mask m among the unpadded ids.
    size_t at = 0;
    for (size_t k2 = 0, seen = 0; k2 < ids.size(); ++k2)
      if (ids[k2] == tok.mask_id() && seen++ == static_cast<size_t>(m)) at = k2;
    std::vector<MaskFill> row;
    for (size_t i = 0; i < k; ++i) {
      const int32_t id = cand[i];
      if (id < 0 || id >= V) continue;
      std::vector<int32_t> filled = ids;
      filled[at] = id;
      row.push_back({std::exp(static_cast<double>(z[id]) - mx) / sum, id, tok.decode({id}, false, true),
                     tok.decode(filled, single, true)});
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<std::vector<std::vector<MaskFill>>> fill_mask(const Engine& e, const std::vector<std::string>& texts,
                                                          const FillMaskOptions& o) {
  const int32_t mask = e.tokenizer->mask_id();
  if (mask < 0) throw Error("the vocabulary has no mask token '" + e.tokenizer->options().mask_token + "'");
  std::vector<Encoding> encs;
  for (size_t i = 0; i < texts.size(); ++i) {
    encs.push_back(encode_input(e, texts[i], nullptr, i));
    if (std::find(encs.back().ids.begin(), encs.back().ids.end(), mask) == encs.back().ids.end())
      throw InputError("input " + std::to_string(i) + " holds no " + e.tokenizer->options().mask_token + " token", false);
  }
  const auto outs = e.run(encs, Need::MaskLogits);
  std::vector<std::vector<std::vector<MaskFill>>> result;
  for (size_t i = 0; i < texts.size(); ++i) result.push_back(fill_mask_results(*e.tokenizer, encs[i], outs[i], o));
  return result;
}

}  // namespace ernie::pipeline

// Token classification with transformers' TokenClassificationPipeline rules: softmax per token,
// special tokens skipped, sub-words found by comparing the token with the text it covers, words
// aggregated (first / average / max) and B-/I- entities grouped (simple and the word strategies).
#include <algorithm>
#include <cmath>

#include "ernie/error.h"
#include "ernie/pipeline.h"
#include "pipeline/encode.h"

namespace ernie::pipeline {

Aggregation parse_aggregation(const std::string& name) {
  if (name == "none") return Aggregation::None;
  if (name == "simple") return Aggregation::Simple;
  if (name == "first") return Aggregation::First;
  if (name == "average") return Aggregation::Average;
  if (name == "max") return Aggregation::Max;
  throw Error("aggregation_strategy must be none, simple, first, average or max, not '" + name + "'");
}

namespace {

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

struct PreEntity {
  std::string word;
  std::vector<double> scores;
  int64_t start, end, index;
  bool is_subword;
};

size_t argmax(const std::vector<double>& v) {   // numpy's: the first maximum
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

Entity aggregate_word(const Tokenizer& tok, const std::vector<PreEntity>& group, Aggregation a, const Config& cfg) {
  std::vector<std::string> words;
  for (const auto& p : group) words.push_back(p.word);
  Entity out;
  out.word = tok.convert_tokens_to_string(words);
  out.start = group.front().start;
  out.end = group.back().end;
  std::vector<double> scores;
  if (a == Aggregation::First) {
    scores = group.front().scores;
  } else if (a == Aggregation::Max) {
    const PreEntity* best = &group.front();   // Python's max(): the first of equal maxima
    double best_max = *std::max_element(best->scores.begin(), best->scores.end());
    for (const auto& p : group) {
      const double m = *std::max_element(p.scores.begin(), p.scores.end());
      if (m > best_max) best = &p, best_max = m;
    }
    scores = best->scores;
  } else {   // Average
    scores.assign(group.front().scores.size(), 0.0);
    for (const auto& p : group)
      for (size_t k = 0; k < scores.size(); ++k) scores[k] += p.scores[k];
    for (double& s : scores) s /= static_cast<double>(group.size());
  }
  const size_t k = argmax(scores);
  out.entity = label_name(cfg, k);
  out.score = scores[k];
  return out;
}

// B-X / I-X, or ("I", name) for labels without the prefix.
std::pair<char, std::string> tag_of(const std::string& name) {
  if (name.rfind("B-", 0) == 0) return {'B', name.substr(2)};
  if (name.rfind("I-", 0) == 0) return {'I', name.substr(2)};
  return {'I', name};
}

Entity group_sub_entities(const Tokenizer& tok, const std::vector<Entity>& group) {
  Entity out;
  const std::string& first = group.front().entity;
  const size_t dash = first.rfind('-');   // Python's split("-")[-1]
  out.entity = dash == std::string::npos ? first : first.substr(dash + 1);
  double sum = 0;
  std::vector<std::string> words;
  for (const auto& e : group) {
    sum += e.score;
    words.push_back(e.word);
  }
  out.score = sum / static_cast<double>(group.size());
  out.word = tok.convert_tokens_to_string(words);
  out.start = group.front().start;
  out.end = group.back().end;
  return out;
}

std::vector<Entity> group_entities(const Tokenizer& tok, const std::vector<Entity>& entities) {
  std::vector<Entity> groups, current;
  for (const auto& e : entities) {
    if (current.empty()) {
      current.push_back(e);
      continue;
    }
    const auto [bi, tag] = tag_of(e.entity);
    const auto last = tag_of(current.back().entity);
    if (tag == last.second && bi != 'B') {
      current.push_back(e);
    } else {
      groups.push_back(group_sub_entities(tok, current));
      current = {e};
    }
  }
  if (!current.empty()) groups.push_back(group_sub_entities(tok, current));
  return groups;
}

}  // namespace

std::vector<Entity> token_entities(const Tokenizer& tok, std::string_view text, const Encoding& enc,
                                   const SequenceOutput& logits, const Config& cfg, const TokenClassificationOptions& o) {
  const auto chars = enc.char_offsets(text);
  // Code point -> byte position, to cut the text a token covers.
  std::vector<size_t> byte_at;
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_at.push_back(i);
  byte_at.push_back(text.size());
  std::vector<PreEntity> pre;
  int64_t row = -1;   // logits rows follow the attended tokens
  for (size_t idx = 0; idx < enc.size(); ++idx) {
    if (!enc.attention_mask[idx]) continue;
    ++row;
    if (enc.special_tokens_mask[idx]) continue;
    if (row >= logits.rows) break;
    PreEntity p;
    const float* z = logits.row(row);
    const double mx = *std::max_element(z, z + logits.cols);
    double sum = 0;
    p.scores.resize(static_cast<size_t>(logits.cols));
    for (int64_t k = 0; k < logits.cols; ++k) sum += p.scores[k] = std::exp(static_cast<double>(z[k]) - mx);
    for (double& s : p.scores) s /= sum;
    p.word = tok.vocab().token(enc.ids[idx]);
    p.start = chars[idx].first;
    p.end = chars[idx].second;
    const std::string_view ref = text.substr(byte_at[p.start], byte_at[p.end] - byte_at[p.start]);
    p.is_subword = code_points(p.word) != code_points(ref);
    if (enc.ids[idx] == tok.unk_id()) {
      p.word = std::string(ref);
      p.is_subword = false;
    }
    p.index = static_cast<int64_t>(idx);
    pre.push_back(std::move(p));
  }

  std::vector<Entity> entities;
  const Aggregation a = o.aggregation_strategy;
  if (a == Aggregation::None || a == Aggregation::Simple) {
    for (const auto& p : pre) {
      const size_t k = argmax(p.scores);
      entities.push_back({label_name(cfg, k), p.scores[k], p.index, p.word, p.start, p.end});
    }
  } else {
    std::vector<PreEntity> word;
    for (const auto& p : pre) {
      if (!word.empty() && !p.is_subword) {
        entities.push_back(aggregate_word(tok, word, a, cfg));
        word.clear();
      }
      word.push_back(p);
    }
    if (!word.empty()) entities.push_back(aggregate_word(tok, word, a, cfg));
  }
  if (a != Aggregation::None) entities = group_entities(tok, entities);
  std::vector<Entity> kept;
  for (auto& e : entities)
    if (std::find(o.ignore_labels.begin(), o.ignore_labels.end(), e.entity) == o.ignore_labels.end())
      kept.push_back(std::move(e));
  return kept;
}

std::vector<std::vector<Entity>> token_classification(const Engine& e, const std::vector<std::string>& texts,
                                                      const TokenClassificationOptions& o) {
  std::vector<Encoding> encs;
  encs.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) encs.push_back(encode_input(e, texts[i], nullptr, i));
  const auto outs = e.run(encs, Need::TokenLogits);
  std::vector<std::vector<Entity>> result;
  for (size_t i = 0; i < texts.size(); ++i)
    result.push_back(token_entities(*e.tokenizer, texts[i], encs[i], outs[i], *e.config, o));
  return result;
}

}  // namespace ernie::pipeline


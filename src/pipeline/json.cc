#include "pipeline/json.h"

#include <set>

#include "ernie/error.h"

namespace ernie::pipeline {

using nlohmann::json;

namespace {

void check_keys(const json& p, const std::set<std::string>& known, const char* task) {
  if (p.is_null()) return;
  if (!p.is_object()) throw Error(std::string(task) + " parameters must be a JSON object");
  for (const auto& [k, v] : p.items())
    if (!known.count(k)) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      throw Error(std::string(task) + " has no parameter '" + k + "' (" + list + ")");
    }
}

int64_t get_int(const json& p, const char* key, int64_t fallback) {
  if (p.is_null() || !p.contains(key) || p[key].is_null()) return fallback;
  if (!p[key].is_number_integer()) throw Error(std::string("'") + key + "' must be an integer");
  return p[key].get<int64_t>();
}

bool get_bool(const json& p, const char* key, bool fallback) {
  if (p.is_null() || !p.contains(key) || p[key].is_null()) return fallback;
  if (!p[key].is_boolean()) throw Error(std::string("'") + key + "' must be true or false");
  return p[key].get<bool>();
}

std::string get_string(const json& p, const char* key, const std::string& fallback) {
  if (p.is_null() || !p.contains(key) || p[key].is_null()) return fallback;
  if (!p[key].is_string()) throw Error(std::string("'") + key + "' must be a string");
  return p[key].get<std::string>();
}

// A string or a list of strings.
std::vector<std::string> get_strings(const json& p, const char* key, std::vector<std::string> fallback) {
  if (p.is_null() || !p.contains(key) || p[key].is_null()) return fallback;
  const json& v = p[key];
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw Error(std::string("'") + key + "' must be a string or a list of strings");
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) throw Error(std::string("'") + key + "' must be a string or a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

TextClassificationOptions text_classification_options(const json& p) {
  check_keys(p, {"top_k", "function_to_apply"}, "text-classification");
  TextClassificationOptions o;
  // top_k: null asks for every label, as in transformers.
  if (!p.is_null() && p.contains("top_k") && p["top_k"].is_null()) o.top_k = 0;
  else o.top_k = get_int(p, "top_k", 1);
  if (o.top_k < 0) throw Error("'top_k' must be >= 1 (null: every label)");
  o.function_to_apply = parse_function(get_string(p, "function_to_apply", "default"));
  return o;
}

TokenClassificationOptions token_classification_options(const json& p) {
  check_keys(p, {"aggregation_strategy", "ignore_labels"}, "token-classification");
  TokenClassificationOptions o;
  o.aggregation_strategy = parse_aggregation(get_string(p, "aggregation_strategy", "none"));
  o.ignore_labels = get_strings(p, "ignore_labels", o.ignore_labels);
  return o;
}

QuestionAnsweringOptions question_answering_options(const json& p) {
  check_keys(p, {"top_k", "doc_stride", "max_answer_len", "max_seq_len", "max_question_len", "handle_impossible_answer",
                 "align_to_words"},
             "question-answering");
  QuestionAnsweringOptions o;
  o.top_k = get_int(p, "top_k", o.top_k);
  o.doc_stride = get_int(p, "doc_stride", o.doc_stride);
  o.max_answer_len = get_int(p, "max_answer_len", o.max_answer_len);
  o.max_seq_len = get_int(p, "max_seq_len", o.max_seq_len);
  o.max_question_len = get_int(p, "max_question_len", o.max_question_len);
  o.handle_impossible_answer = get_bool(p, "handle_impossible_answer", o.handle_impossible_answer);
  o.align_to_words = get_bool(p, "align_to_words", o.align_to_words);
  if (o.top_k < 1) throw Error("'top_k' must be >= 1");
  if (o.max_answer_len < 1) throw Error("'max_answer_len' must be >= 1");
  return o;
}

FillMaskOptions fill_mask_options(const json& p) {
  check_keys(p, {"top_k", "targets"}, "fill-mask");
  FillMaskOptions o;
  o.top_k = get_int(p, "top_k", o.top_k);
  o.targets = get_strings(p, "targets", {});
  if (o.top_k < 1) throw Error("'top_k' must be >= 1");
  return o;
}

EmbeddingOptions embedding_options(const json& p, Pooling default_pooling) {
  check_keys(p, {"pooling", "normalize"}, "feature-extraction");
  EmbeddingOptions o;
  o.pooling = parse_pooling(get_string(p, "pooling", pooling_name(default_pooling)));
  o.normalize = get_bool(p, "normalize", false);
  return o;
}

RerankOptions rerank_options(const json& p) {
  check_keys(p, {"return_text", "raw_scores"}, "rerank");
  RerankOptions o;
  o.return_text = get_bool(p, "return_text", false);
  o.raw_scores = get_bool(p, "raw_scores", false);
  return o;
}

json to_json(const std::vector<Label>& labels, bool single) {
  json list = json::array();
  for (const auto& l : labels) list.push_back({{"label", l.label}, {"score", l.score}});
  return single && list.size() == 1 ? list[0] : list;
}

json to_json(const std::vector<Entity>& entities, Aggregation a) {
  json list = json::array();
  for (const auto& e : entities) {
    json j;
    if (a == Aggregation::None) {
      j = {{"entity", e.entity}, {"score", e.score}, {"index", e.index}};
    } else {
      j = {{"entity_group", e.entity}, {"score", e.score}};
    }
    j["word"] = e.word;
    j["start"] = e.start;
    j["end"] = e.end;
    list.push_back(std::move(j));
  }
  return list;
}

json to_json(const std::vector<Answer>& answers, bool single) {
  json list = json::array();
  for (const auto& a : answers) list.push_back({{"score", a.score}, {"start", a.start}, {"end", a.end}, {"answer", a.answer}});
  return single && list.size() == 1 ? list[0] : list;
}

json to_json(const std::vector<std::vector<MaskFill>>& per_mask) {
  json masks = json::array();
  for (const auto& row : per_mask) {
    json list = json::array();
    for (const auto& f : row)
      list.push_back({{"score", f.score}, {"token", f.token}, {"token_str", f.token_str}, {"sequence", f.sequence}});
    masks.push_back(std::move(list));
  }
  return masks.size() == 1 ? masks[0] : masks;
}

json to_json(const std::vector<RerankHit>& hits, bool with_text) {
  json list = json::array();
  for (const auto& h : hits) {
    json j = {{"index", h.index}, {"score", h.score}};
    if (with_text) j["text"] = h.text;
    list.push_back(std::move(j));
  }
  return list;
}

json to_json(const SequenceOutput& v) {
  if (v.rows == 1) return json(std::vector<float>(v.values.begin(), v.values.end()));
  json rows = json::array();
  for (int64_t r = 0; r < v.rows; ++r) rows.push_back(std::vector<float>(v.row(r), v.row(r) + v.cols));
  return rows;
}

}  // namespace ernie::pipeline

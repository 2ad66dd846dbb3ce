// transformers' pipeline call conventions over JSON: the Python package's `pipeline(...)(inputs,
// **kwargs)` hands its arguments here and gets transformers' result shapes back.
#include "ernie/error.h"
#include "pipeline/json.h"

namespace ernie::pipeline {

using nlohmann::json;

namespace {

std::vector<std::string> texts_of(const json& in, bool* single) {
  *single = in.is_string();
  if (in.is_string()) return {in.get<std::string>()};
  if (!in.is_array() || in.empty()) throw Error("inputs must be a string or a non-empty list of strings");
  std::vector<std::string> out;
  for (const auto& t : in) {
    if (!t.is_string()) throw Error("inputs must be a string or a non-empty list of strings");
    out.push_back(t.get<std::string>());
  }
  return out;
}

}  // namespace

json call(const Engine& e, Task task, const json& inputs, const json& params) {
  bool single = false;
  json out = json::array();
  switch (task) {
    case Task::TextClassification: {
      // A text, {"text", "text_pair"}, or a list of either.
      std::vector<TextInput> in;
      auto one = [&](const json& x) {
        if (x.is_string()) in.push_back({x.get<std::string>(), {}, false});
        else if (x.is_object() && x.contains("text") && x["text"].is_string())
          in.push_back({x["text"].get<std::string>(), x.value("text_pair", std::string()), x.contains("text_pair")});
        else throw Error("text-classification inputs: a string, {\"text\", \"text_pair\"}, or a list of them");
      };
      single = !inputs.is_array();
      if (single) one(inputs);
      else for (const auto& x : inputs) one(x);
      // transformers: without top_k, one dict per input (a one-element list for one string); with it, lists.
      const bool legacy = params.is_null() || !params.contains("top_k");
      const auto opts = text_classification_options(params);
      for (const auto& l : text_classification(e, in, opts)) out.push_back(to_json(l, legacy));
      return single && !legacy ? out[0] : out;
    }
    case Task::TokenClassification: {
      const auto texts = texts_of(inputs, &single);
      const auto opts = token_classification_options(params);
      for (const auto& ents : token_classification(e, texts, opts)) out.push_back(to_json(ents, opts.aggregation_strategy));
      break;
    }
    case Task::QuestionAnswering: {
      std::vector<QaInput> in;
      auto one = [&](const json& x) {
        if (!x.is_object() || !x.contains("question") || !x.contains("context") || !x["question"].is_string() ||
            !x["context"].is_string())
          throw Error("question-answering inputs: {\"question\": str, \"context\": str} or a list of them");
        in.push_back({x["question"].get<std::string>(), x["context"].get<std::string>()});
      };
      single = !inputs.is_array();
      if (single) one(inputs);
      else for (const auto& x : inputs) one(x);
      const auto opts = question_answering_options(params);
      for (const auto& a : question_answering(e, in, opts)) out.push_back(to_json(a, opts.top_k == 1));
      break;
    }
    case Task::FillMask: {
      const auto texts = texts_of(inputs, &single);
      for (const auto& f : fill_mask(e, texts, fill_mask_options(params))) out.push_back(to_json(f));
      break;
    }
    case Task::FeatureExtraction: {
      // transformers returns every token's hidden state, [1, L, H] per text; pooling gives [H].
      const auto texts = texts_of(inputs, &single);
      const auto opts = embedding_options(params, Pooling::None);
      for (const auto& v : embed(e, texts, opts)) out.push_back(opts.pooling == Pooling::None ? json::array({to_json(v)}) : to_json(v));
      break;
    }
    case Task::Rerank: {
      if (!inputs.is_object() || !inputs.contains("query") || !inputs["query"].is_string() || !inputs.contains("texts"))
        throw Error("rerank inputs: {\"query\": str, \"texts\": [str, ...]}");
      bool unused = false;
      const auto opts = rerank_options(params);
      return to_json(rerank(e, inputs["query"].get<std::string>(), texts_of(inputs["texts"], &unused), opts), opts.return_text);
    }
  }
  return single ? out[0] : out;
}

}  // namespace ernie::pipeline

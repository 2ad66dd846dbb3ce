// Pipeline options from JSON parameters and results to JSON, in transformers' shapes; shared by
// `ernie pipeline`, the server's routes and the Python package, so all three answer alike.
#pragma once
#include <nlohmann/json.hpp>

#include "ernie/pipeline.h"

namespace ernie::pipeline {

// transformers' keyword arguments as a JSON object ({"top_k": 3, ...}); unknown keys and wrong
// types throw ernie::Error naming the key.
TextClassificationOptions text_classification_options(const nlohmann::json& params);
TokenClassificationOptions token_classification_options(const nlohmann::json& params);
QuestionAnsweringOptions question_answering_options(const nlohmann::json& params);
FillMaskOptions fill_mask_options(const nlohmann::json& params);
EmbeddingOptions embedding_options(const nlohmann::json& params, Pooling default_pooling);
RerankOptions rerank_options(const nlohmann::json& params);

// transformers' result shapes: top_k == 1 (text classification) and a single answer (question
// answering) give one object, not a list; fill-mask gives a list per mask only for several masks.
nlohmann::json to_json(const std::vector<Label>& labels, bool single);
nlohmann::json to_json(const std::vector<Entity>& entities, Aggregation a);
nlohmann::json to_json(const std::vector<Answer>& answers, bool single);
nlohmann::json to_json(const std::vector<std::vector<MaskFill>>& per_mask);
nlohmann::json to_json(const std::vector<RerankHit>& hits, bool with_text);
nlohmann::json to_json(const SequenceOutput& v);   // [H] for one row, [[...], ...] for several

// transformers' pipeline call (call.cc): `inputs` in the task's Python forms (a text or a list;
// {"text", "text_pair"}; {"question", "context"}; {"query", "texts"}), `params` its keyword
// arguments; the result in transformers' shapes (one input: its result; a list: a list).
nlohmann::json call(const Engine& e, Task task, const nlohmann::json& inputs, const nlohmann::json& params);

}  // namespace ernie::pipeline

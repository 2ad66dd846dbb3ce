// The server's POST routes: text-embeddings-inference's (/predict, /embed, /embed_all, /rerank,
// /similarity, /tokenize, /decode), OpenAI's /v1/embeddings, and the other heads' tasks in the
// Hugging Face Inference API's shape. Every task runs through src/pipeline, as the CLI does.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "ernie/error.h"
#include "pipeline/json.h"
#include "serve/server_impl.h"

namespace ernie {

using nlohmann::json;
using serve::ApiError;

namespace {

std::vector<pipeline::TextInput> text_inputs(const std::vector<serve::Sequence>& seqs) {
  std::vector<pipeline::TextInput> out;
  for (const auto& s : seqs) out.push_back({s.first, s.second, s.pair});
  return out;
}

std::vector<serve::Sequence> singles(const std::vector<std::string>& texts) {
  std::vector<serve::Sequence> out;
  for (const auto& t : texts) out.push_back({t, {}, false});
  return out;
}

// "parameters" of the Inference API shape (an object, or absent).
const json& parameters(const json& body) {
  static const json none;
  const auto it = body.find("parameters");
  if (it == body.end() || it->is_null()) return none;
  if (!it->is_object()) throw ApiError(422, "validation", "\"parameters\" must be a JSON object");
  return *it;
}

std::string base64(const float* v, size_t n) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* b = reinterpret_cast<const unsigned char*>(v);   // little-endian float32, as OpenAI sends
  const size_t len = n * sizeof(float);
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  for (size_t i = 0; i < len; i += 3) {
    const uint32_t x = (b[i] << 16) | (i + 1 < len ? b[i + 1] << 8 : 0) | (i + 2 < len ? b[i + 2] : 0);
    out += abc[(x >> 18) & 63];
    out += abc[(x >> 12) & 63];
    out += i + 1 < len ? abc[(x >> 6) & 63] : '=';
    out += i + 2 < len ? abc[x & 63] : '=';
  }
  return out;
}

}  // namespace

bool Server::Impl::supports(pipeline::Task t) const { return std::find(tasks.begin(), tasks.end(), t) != tasks.end(); }

void Server::Impl::require(pipeline::Task t) const {
  if (supports(t)) return;
  std::string list;
  for (auto k : tasks) list += (list.empty() ? "" : ", ") + std::string(pipeline::task_name(k));
  throw ApiError(422, "validation", "model " + model_id + " (" + model.config().class_name() + ") cannot do " +
                                        pipeline::task_name(t) + "; it serves: " + list);
}

pipeline::Engine Server::Impl::engine(const char* route, bool truncate) {
  pipeline::Engine e;
  e.config = &model.config();
  e.tokenizer = &tok;
  e.max_length = max_len;
  e.truncate = truncate;
  e.run = [this, route](const std::vector<Encoding>& encs, pipeline::Need need) {
    serve::Batcher::Ticket ticket = batcher->admit();
    if (!ticket)
      throw ApiError(429, "overloaded",
                     "model is overloaded: " + std::to_string(o.max_concurrent_requests) + " requests are in flight");
    auto job = std::make_shared<serve::Job>();
    job->need = need;
    job->inputs = encs;
    metrics.add_inputs(route, job->inputs.size());
    batcher->submit(ticket, job);
    if (!job->wait_for(std::chrono::seconds(o.request_timeout_s)))
      throw ApiError(503, "timeout", "no answer within " + std::to_string(o.request_timeout_s) + " s (--request-timeout-s)");
    if (!job->error.empty()) throw ApiError(500, "backend", job->error);
    return std::move(job->outputs);
  };
  return e;
}

json Server::Impl::predict(const json& body) {
  require(pipeline::Task::TextClassification);
  bool batch = false;
  const auto inputs = serve::parse_predict_inputs(body, &batch);
  serve::check_limits(inputs, o.max_client_batch_size, o.max_input_chars);
  pipeline::TextClassificationOptions opts;
  opts.top_k = 0;   // TEI answers every label, best first
  if (serve::get_bool(body, "raw_scores", false)) opts.function_to_apply = pipeline::Function::None;
  const auto labels =
      pipeline::text_classification(engine("/predict", serve::get_bool(body, "truncate", false)), text_inputs(inputs), opts);
  json out = json::array();
  for (const auto& l : labels) out.push_back(pipeline::to_json(l, false));
  return batch ? out : out[0];
}

json Server::Impl::embed(const json& body) {
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  serve::check_limits(singles(texts), o.max_client_batch_size, o.max_input_chars);
  pipeline::EmbeddingOptions opts;
  opts.pooling = pipeline::parse_pooling(serve::get_string(body, "pooling", pipeline::pooling_name(default_pooling)));
  if (opts.pooling == pipeline::Pooling::None) throw ApiError(422, "validation", "\"pooling\" must be cls, mean or max (use /embed_all for every token)");
  opts.normalize = serve::get_bool(body, "normalize", true);
  const auto v = pipeline::embed(engine("/embed", serve::get_bool(body, "truncate", false)), texts, opts);
  json out = json::array();
  for (const auto& e : v) out.push_back(pipeline::to_json(e));
  return out;
}

json Server::Impl::embed_all(const json& body) {
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  serve::check_limits(singles(texts), o.max_client_batch_size, o.max_input_chars);
  pipeline::EmbeddingOptions opts;
  opts.pooling = pipeline::Pooling::None;
  const auto v = pipeline::embed(engine("/embed_all", serve::get_bool(body, "truncate", false)), texts, opts);
  json out = json::array();
  for (const auto& e : v) {
    json rows = json::array();
    for (int64_t r = 0; r < e.rows; ++r) rows.push_back(std::vector<float>(e.row(r), e.row(r) + e.cols));
    out.push_back(std::move(rows));
  }
  return out;
}

json Server::Impl::rerank(const json& body) {
  require(pipeline::Task::Rerank);
  const std::string query = serve::get_string(body, "query", "");
  if (!body.contains("query") || !body["query"].is_string()) throw ApiError(422, "validation", "missing field \"query\" (a string)");
  if (!body.contains("texts") || !body["texts"].is_array())
    throw ApiError(422, "validation", "missing field \"texts\" (a list of strings)");
  if (body["texts"].empty()) throw ApiError(400, "empty", "\"texts\" is an empty list");
  std::vector<std::string> texts;
  std::vector<serve::Sequence> seqs;
  for (const auto& t : body["texts"]) {
    if (!t.is_string()) throw ApiError(422, "validation", "\"texts\" must be a list of strings");
    texts.push_back(t.get<std::string>());
    seqs.push_back({query, texts.back(), true});
  }
  serve::check_limits(seqs, o.max_client_batch_size, o.max_input_chars);
  pipeline::RerankOptions opts;
  opts.return_text = serve::get_bool(body, "return_text", false);
  opts.raw_scores = serve::get_bool(body, "raw_scores", false);
  const auto hits = pipeline::rerank(engine("/rerank", serve::get_bool(body, "truncate", false)), query, texts, opts);
  return pipeline::to_json(hits, opts.return_text);
}

json Server::Impl::similarity(const json& body) {
  const auto it = body.find("inputs");
  if (it == body.end() || !it->is_object() || !it->contains("source_sentence") || !(*it)["source_sentence"].is_string() ||
      !it->contains("sentences") || !(*it)["sentences"].is_array())
    throw ApiError(422, "validation",
                   "\"inputs\" must be {\"source_sentence\": string, \"sentences\": [string, ...]}");
  const std::string source = (*it)["source_sentence"].get<std::string>();
  std::vector<std::string> sentences;
  for (const auto& s : (*it)["sentences"]) {
    if (!s.is_string()) throw ApiError(422, "validation", "\"sentences\" must be a list of strings");
    sentences.push_back(s.get<std::string>());
  }
  if (sentences.empty()) throw ApiError(400, "empty", "\"sentences\" is an empty list");
  std::vector<std::string> all{source};
  all.insert(all.end(), sentences.begin(), sentences.end());
  serve::check_limits(singles(all), o.max_client_batch_size, o.max_input_chars);
  pipeline::EmbeddingOptions opts;
  opts.pooling = default_pooling;
  return pipeline::similarity(engine("/similarity", serve::get_bool(body, "truncate", false)), source, sentences, opts);
}

json Server::Impl::tokenize(const json& body) {
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  const bool specials = serve::get_bool(body, "add_special_tokens", true);
  const bool truncate = serve::get_bool(body, "truncate", false);
  serve::check_limits(singles(texts), o.max_client_batch_size, o.max_input_chars);
  json out = json::array();
  for (size_t i = 0; i < texts.size(); ++i) {
    EncodeOptions eo;
    eo.add_special_tokens = specials;
    eo.max_length = truncate ? max_len : 0;
    Encoding e;
    try {
      e = tok.encode(texts[i], eo);
    } catch (const std::exception& ex) {
      throw ApiError(422, "tokenizer", "input " + std::to_string(i) + ": " + ex.what());
    }
    json list = json::array();
    for (size_t k = 0; k < e.size(); ++k) {
      const bool special = e.special_tokens_mask[k] != 0;
      const std::string& piece = tok.vocab().token(e.ids[k]);
      json t = {{"id", e.ids[k]}, {"special", special}, {"token", piece}};
      if (special) {
        t["text"] = piece;
        t["start"] = nullptr;
        t["stop"] = nullptr;
      } else {
        const auto [b, s] = e.offsets[k];
        t["text"] = texts[i].substr(b, s - b);
        t["start"] = b;
        t["stop"] = s;
      }
      list.push_back(std::move(t));
    }
    out.push_back(std::move(list));
  }
  return out;
}

json Server::Impl::decode(const json& body) {
  const auto it = body.find("ids");
  static const char* expected = "\"ids\" must be a list of token ids or a list of such lists";
  if (it == body.end() || !it->is_array()) throw ApiError(422, "validation", expected);
  if (it->empty()) throw ApiError(400, "empty", "\"ids\" is an empty list");
  const bool skip = serve::get_bool(body, "skip_special_tokens", true);
  std::vector<json> rows;
  if ((*it)[0].is_array()) rows.assign(it->begin(), it->end());
  else rows.push_back(*it);
  if (rows.size() > o.max_client_batch_size)
    throw ApiError(413, "validation", "batch size " + std::to_string(rows.size()) + " exceeds the limit of " +
                                          std::to_string(o.max_client_batch_size) + " inputs per request");
  json out = json::array();
  for (const auto& row : rows) {
    if (!row.is_array()) throw ApiError(422, "validation", expected);
    std::vector<int32_t> ids;
    for (const auto& v : row) {
      if (!v.is_number_integer()) throw ApiError(422, "validation", expected);
      const int64_t id = v.get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(tok.vocab().size()))
        throw ApiError(422, "validation", "token id " + std::to_string(id) + " is outside the vocabulary of " +
                                              std::to_string(tok.vocab().size()));
      ids.push_back(static_cast<int32_t>(id));
    }
    out.push_back(tok.decode(ids, skip, true));
  }
  return out;
}

json Server::Impl::openai_embeddings(const json& body) {
  const auto it = body.find("input");
  static const char* expected = "\"input\" must be a string or a list of strings";
  if (it == body.end()) throw ApiError(422, "validation", "missing field \"input\"");
  std::vector<std::string> texts;
  if (it->is_string()) {
    texts.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    if (it->empty()) throw ApiError(400, "empty", "\"input\" is an empty list");
    for (const auto& s : *it) {
      if (s.is_number_integer() || s.is_array())
        throw ApiError(422, "validation", "token-id input is not supported: send the texts as strings");
      if (!s.is_string()) throw ApiError(422, "validation", expected);
      texts.push_back(s.get<std::string>());
    }
  } else {
    throw ApiError(422, "validation", expected);
  }
  const std::string format = serve::get_string(body, "encoding_format", "float");
  if (format != "float" && format != "base64")
    throw ApiError(422, "validation", "\"encoding_format\" must be \"float\" or \"base64\", not \"" + format + "\"");
  if (body.contains("dimensions") && !body["dimensions"].is_null() &&
      (!body["dimensions"].is_number_integer() || body["dimensions"].get<int64_t>() != model.config().hidden_size))
    throw ApiError(422, "validation", "\"dimensions\" must be this model's " + std::to_string(model.config().hidden_size));
  serve::check_limits(singles(texts), o.max_client_batch_size, o.max_input_chars);
  pipeline::EmbeddingOptions opts;
  opts.pooling = default_pooling;
  opts.normalize = true;   // OpenAI's embeddings are unit vectors
  int64_t tokens = 0;
  const auto v = pipeline::embed(engine("/v1/embeddings", true), texts, opts, &tokens);
  json data = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    json item = {{"object", "embedding"}, {"index", i}};
    if (format == "base64") item["embedding"] = base64(v[i].values.data(), v[i].values.size());
    else item["embedding"] = v[i].values;
    data.push_back(std::move(item));
  }
  const std::string name = serve::get_string(body, "model", model_id);
  return {{"object", "list"}, {"data", data}, {"model", name}, {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
}

json Server::Impl::question_answering(const json& body) {
  require(pipeline::Task::QuestionAnswering);
  const auto it = body.find("inputs");
  static const char* expected = "\"inputs\" must be {\"question\": string, \"context\": string} or a list of them";
  if (it == body.end()) throw ApiError(422, "validation", "missing field \"inputs\"");
  std::vector<pipeline::QaInput> inputs;
  auto one = [&](const json& j) {
    if (!j.is_object() || !j.contains("question") || !j.contains("context") || !j["question"].is_string() ||
        !j["context"].is_string())
      throw ApiError(422, "validation", expected);
    inputs.push_back({j["question"].get<std::string>(), j["context"].get<std::string>()});
  };
  const bool batch = it->is_array();
  if (batch) {
    if (it->empty()) throw ApiError(400, "empty", "\"inputs\" is an empty list");
    for (const auto& j : *it) one(j);
  } else {
    one(*it);
  }
  std::vector<serve::Sequence> seqs;
  for (const auto& q : inputs) seqs.push_back({q.question, q.context, true});
  serve::check_limits(seqs, o.max_client_batch_size, o.max_input_chars);
  const auto opts = pipeline::question_answering_options(parameters(body));
  const auto answers = pipeline::question_answering(engine("/question-answering", true), inputs, opts);
  json out = json::array();
  for (const auto& a : answers) out.push_back(pipeline::to_json(a, opts.top_k == 1));
  return batch ? out : out[0];
}

json Server::Impl::token_classification(const json& body) {
  require(pipeline::Task::TokenClassification);
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  serve::check_limits(singles(texts), o.max_client_batch_size, o.max_input_chars);
  const auto opts = pipeline::token_classification_options(parameters(body));
  const auto ents = pipeline::token_classification(engine("/token-classification", true), texts, opts);
  json out = json::array();
  for (const auto& e : ents) out.push_back(pipeline::to_json(e, opts.aggregation_strategy));
  return batch ? out : out[0];
}

json Server::Impl::fill_mask(const json& body) {
  require(pipeline::Task::FillMask);
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  serve::check_limits(singles(texts), o.max_client_batch_size, o.max_input_chars);
  const auto opts = pipeline::fill_mask_options(parameters(body));
  const auto fills = pipeline::fill_mask(engine("/fill-mask", true), texts, opts);
  json out = json::array();
  for (const auto& f : fills) out.push_back(pipeline::to_json(f));
  return batch ? out : out[0];
}

std::string Server::Impl::info() const {
  const Config& cfg = model.config();
  json type;
  if (supports(pipeline::Task::TextClassification)) {
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < cfg.id2label.size(); ++i) {
      id2label[std::to_string(i)] = cfg.id2label[i];
      label2id[cfg.id2label[i]] = i;
    }
    type = {{"classifier",
             {{"id2label", id2label}, {"label2id", label2id},
              {"multi_label", cfg.problem_type == "multi_label_classification"}}}};
  } else {
    type = {{"embedding", {{"pooling", pipeline::pooling_name(default_pooling)}}}};
  }
  json task_names = json::array();
  for (auto t : tasks) task_names.push_back(pipeline::task_name(t));
  const json j = {{"model_id", model_id},
                  {"model_sha", nullptr},
                  {"model_dtype", compute_type_name(model.compute_type())},
                  {"model_type", type},
                  {"architecture", cfg.class_name()},
                  {"tasks", task_names},
                  {"hidden_size", cfg.hidden_size},
                  {"max_input_length", max_len},
                  {"max_concurrent_requests", o.max_concurrent_requests},
                  {"max_batch_tokens", o.max_batch_tokens},
                  {"max_batch_requests", o.max_batch_requests},
                  {"max_client_batch_size", o.max_client_batch_size},
                  {"max_wait_ms", o.max_wait_ms},
                  {"tokenization_workers", o.http_threads},
                  {"version", ERNIE_VERSION},
                  {"sha", nullptr},
                  {"docker_label", nullptr}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ernie

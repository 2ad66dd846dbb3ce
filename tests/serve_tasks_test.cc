// `ernie serve`'s task routes beyond /predict and /embed: TEI's /embed_all, /rerank, /similarity,
// /decode; OpenAI's /v1/embeddings; question answering, token classification and fill-mask.
// Each route is checked for every input form, against the other routes it must agree with, and
// for its JSON 4xx errors.
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>

#include "serve/server_impl.h"
#include "serve_util.h"

namespace {

using namespace serve_test;
using nlohmann::json;

struct TaskModels {
  TempDir tmp;
  fs::path qa = tmp / "qa", tagger = tmp / "tagger", mlm = tmp / "mlm";
  TaskModels() {
    for (const auto& [dir, fixture] : {std::pair{qa, "bert_gelu_new_qa"}, {tagger, "ernie_gelu_tokcls_notask"},
                                       {mlm, "bert_gelu_mlm"}}) {
      fs::create_directories(dir);
      make_model(dir, fixture);
    }
  }
};

const TaskModels& task_models() {
  static TaskModels m;
  return m;
}

Running serving(const fs::path& dir) {
  ernie::ServeOptions o;
  o.model_dir = dir.string();
  return Running(o);
}

double cosine(const json& a, const json& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    ab += a[k].get<double>() * b[k].get<double>();
    aa += a[k].get<double>() * a[k].get<double>();
    bb += b[k].get<double>() * b[k].get<double>();
  }
  return ab / std::sqrt(aa * bb);
}

std::vector<float> from_base64(const std::string& s) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<uint32_t>(abc.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

TEST(ServeTasks, EmbedAllSimilarityAndOpenAiAgreeWithEmbed) {
  Running s(defaults());
  auto c = s.client();
  Answer all = post(c, "/embed_all", R"({"inputs": ["f5 g6 h7", "i8"]})");
  ASSERT_EQ(all.status, 200) << all.text;
  ASSERT_EQ(all.body.size(), 2u);
  EXPECT_EQ(all.body[0].size(), 5u);   // [CLS] f5 g6 h7 [SEP]
  EXPECT_EQ(all.body[1].size(), 3u);
  Answer cls = post(c, "/embed", R"({"inputs": ["f5 g6 h7"], "normalize": false})");
  ASSERT_EQ(cls.status, 200);
  for (size_t k = 0; k < cls.body[0].size(); ++k)
    EXPECT_NEAR(all.body[0][0][k].get<double>(), cls.body[0][k].get<double>(), 1e-6);

  Answer sim = post(c, "/similarity", R"({"inputs": {"source_sentence": "f5 g6 h7", "sentences": ["i8", "f5 g6 h7"]}})");
  ASSERT_EQ(sim.status, 200) << sim.text;
  Answer e = post(c, "/embed", R"({"inputs": ["f5 g6 h7", "i8"]})");
  EXPECT_NEAR(sim.body[0].get<double>(), cosine(e.body[0], e.body[1]), 1e-5);
  EXPECT_NEAR(sim.body[1].get<double>(), 1.0, 1e-5);

  // OpenAI: float and base64 (little-endian float32) give /embed's normalized vectors.
  Answer oa = post(c, "/v1/embeddings", R"({"input": ["f5 g6 h7", "i8"], "model": "m"})");
  ASSERT_EQ(oa.status, 200) << oa.text;
  EXPECT_EQ(oa.body["object"], "list");
  EXPECT_EQ(oa.body["model"], "m");
  EXPECT_EQ(oa.body["usage"]["prompt_tokens"], 8);   // 5 + 3 tokens
  EXPECT_EQ(oa.body["usage"]["total_tokens"], 8);
  ASSERT_EQ(oa.body["data"].size(), 2u);
  EXPECT_EQ(oa.body["data"][1]["index"], 1);
  EXPECT_EQ(oa.body["data"][1]["object"], "embedding");
  for (size_t k = 0; k < e.body[0].size(); ++k)
    EXPECT_NEAR(oa.body["data"][0]["embedding"][k].get<double>(), e.body[0][k].get<double>(), 1e-6);
  Answer b64 = post(c, "/v1/embeddings", R"({"input": "f5 g6 h7", "encoding_format": "base64"})");
  ASSERT_EQ(b64.status, 200) << b64.text;
  const auto v = from_base64(b64.body["data"][0]["embedding"].get<std::string>());
  ASSERT_EQ(v.size(), e.body[0].size());
  for (size_t k = 0; k < v.size(); ++k) EXPECT_NEAR(v[k], e.body[0][k].get<double>(), 1e-6);

  Answer models = get(c, "/v1/models");
  ASSERT_EQ(models.status, 200) << models.text;
  EXPECT_EQ(models.body["object"], "list");
  EXPECT_EQ(models.body["data"][0]["object"], "model");
  EXPECT_EQ(models.body["data"][0]["id"], get(c, "/info").body["model_id"]);
  // OpenAI's error shape on its routes: {"error": {"message", "type", "param", "code"}}.
  auto openai_error = [](const Answer& a, int status, const std::string& code) {
    EXPECT_EQ(a.status, status) << a.text;
    ASSERT_TRUE(a.body.is_object() && a.body.contains("error") && a.body["error"].is_object()) << a.text;
    EXPECT_FALSE(a.body["error"].value("message", "").empty()) << a.text;
    EXPECT_EQ(a.body["error"].value("type", ""), status == 401 ? "authentication_error" : "invalid_request_error");
    EXPECT_EQ(a.body["error"].value("code", ""), code) << a.text;
  };
  openai_error(post(c, "/v1/embeddings", R"({"input": [1, 2, 3]})"), 422, "validation");
  openai_error(post(c, "/v1/embeddings", R"({"input": "x", "encoding_format": "int8"})"), 422, "validation");
  openai_error(post(c, "/v1/embeddings", R"({"model": "m"})"), 422, "validation");
  openai_error(post(c, "/v1/embeddings", R"({"input": []})"), 400, "empty");
  openai_error(post(c, "/v1/embeddings", "not json"), 400, "invalid_json");
  openai_error(get(c, "/v1/embeddings"), 405, "method_not_allowed");
  expect_error(post(c, "/similarity", R"({"inputs": "x"})"), 422, "validation");
  expect_error(post(c, "/similarity", R"({"inputs": {"source_sentence": "x", "sentences": []}})"), 400, "empty");
  expect_error(post(c, "/embed_all", R"({"inputs": 3})"), 422, "validation");
}

TEST(ServeTasks, RerankIsTheClassifierOnPairsSorted) {
  Running s(defaults());   // ErnieForSequenceClassification, 3 labels
  auto c = s.client();
  Answer r = post(c, "/rerank", R"({"query": "f5 g6", "texts": ["h7", "i8 j9 k10", "l11"], "return_text": true})");
  ASSERT_EQ(r.status, 200) << r.text;
  ASSERT_EQ(r.body.size(), 3u);
  for (size_t i = 1; i < 3; ++i) EXPECT_GE(r.body[i - 1]["score"].get<double>(), r.body[i]["score"].get<double>());
  // Each score: the softmax probability of the last label of /predict on the pair.
  for (const auto& hit : r.body) {
    const std::string text = hit["text"];
    Answer p = post(c, "/predict", json{{"inputs", json::array({"f5 g6", text})}}.dump());
    double last = 0;
    for (const auto& l : p.body)
      if (l["label"] == "LABEL_2") last = l["score"];
    EXPECT_NEAR(hit["score"].get<double>(), last, 1e-6) << text;
  }
  Answer plain = post(c, "/rerank", R"({"query": "f5 g6", "texts": ["h7"]})");
  EXPECT_FALSE(plain.body[0].contains("text"));
  expect_error(post(c, "/rerank", R"({"texts": ["h7"]})"), 422, "validation");
  expect_error(post(c, "/rerank", R"({"query": "q", "texts": []})"), 400, "empty");
  expect_error(post(c, "/rerank", R"({"query": "q", "texts": [1]})"), 422, "validation");
  // An encoder without a classifier cannot rerank.
  ernie::ServeOptions o;
  o.model_dir = models().encoder.string();
  Running enc(o);
  auto ce = enc.client();
  expect_error(post(ce, "/rerank", R"({"query": "q", "texts": ["h7"]})"), 422, "validation");
}

TEST(ServeTasks, DecodeIsTheInverseOfTokenize) {
  Running s(defaults());
  auto c = s.client();
  Answer t = post(c, "/tokenize", R"({"inputs": "F5 g6 h7"})");
  json ids = json::array();
  for (const auto& tok : t.body[0]) ids.push_back(tok["id"]);
  Answer d = post(c, "/decode", json{{"ids", ids}}.dump());
  ASSERT_EQ(d.status, 200) << d.text;
  EXPECT_EQ(d.body, json::array({"f5 g6 h7"}));
  Answer keep = post(c, "/decode", json{{"ids", json::array({ids, ids})}, {"skip_special_tokens", false}}.dump());
  EXPECT_EQ(keep.body, json::array({"[CLS] f5 g6 h7 [SEP]", "[CLS] f5 g6 h7 [SEP]"}));
  expect_error(post(c, "/decode", R"({"ids": [1, 100000]})"), 422, "validation");
  expect_error(post(c, "/decode", R"({"ids": "1 2"})"), 422, "validation");
  expect_error(post(c, "/decode", R"({"ids": []})"), 400, "empty");
}

TEST(ServeTasks, QuestionAnsweringSpansTheContext) {
  Running s = serving(task_models().qa);
  auto c = s.client();
  const std::string context = words(80);   // longer than the model's 40 tokens: several windows
  Answer a = post(c, "/question-answering", json{{"inputs", {{"question", "f5 g6"}, {"context", context}}},
                                                 {"parameters", {{"max_seq_len", 24}, {"doc_stride", 8}}}}.dump());
  ASSERT_EQ(a.status, 200) << a.text;
  ASSERT_TRUE(a.body.is_object()) << a.text;
  const int64_t start = a.body["start"], end = a.body["end"];
  EXPECT_EQ(context.substr(start, end - start), a.body["answer"].get<std::string>());
  EXPECT_GT(a.body["score"].get<double>(), 0.0);
  Answer top = post(c, "/question-answering", json{{"inputs", json::array({{{"question", "f5"}, {"context", context}}})},
                                                   {"parameters", {{"top_k", 3}, {"max_seq_len", 24}, {"doc_stride", 8},
                                                                   {"handle_impossible_answer", true}}}}.dump());
  ASSERT_EQ(top.status, 200) << top.text;
  ASSERT_EQ(top.body.size(), 1u);
  ASSERT_EQ(top.body[0].size(), 3u);
  for (size_t i = 1; i < 3; ++i) EXPECT_GE(top.body[0][i - 1]["score"].get<double>(), top.body[0][i]["score"].get<double>());
  expect_error(post(c, "/question-answering", R"({"inputs": {"question": "q"}})"), 422, "validation");
  expect_error(post(c, "/question-answering", R"({"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": 0}})"),
               422, "validation");
  expect_error(post(c, "/question-answering", R"({"inputs": {"question": "q", "context": "c"}, "parameters": {"topk": 2}})"),
               422, "validation");
  expect_error(post(c, "/question-answering", R"({"inputs": []})"), 400, "empty");
  expect_error(post(c, "/predict", R"({"inputs": "f5"})"), 422, "validation");   // no classifier
  Answer info = get(c, "/info");
  EXPECT_EQ(info.body["tasks"][0], "question-answering");
}

TEST(ServeTasks, TokenClassificationEntitiesAndAggregation) {
  Running s = serving(task_models().tagger);
  auto c = s.client();
  const std::string text = "f5 g6 h7 i8";
  Answer none = post(c, "/token-classification", json{{"inputs", text}, {"parameters", {{"ignore_labels", json::array()}}}}.dump());
  ASSERT_EQ(none.status, 200) << none.text;
  ASSERT_EQ(none.body.size(), 4u);   // every token, [CLS]/[SEP] left out
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(none.body[i]["index"], i + 1);
    const int64_t b = none.body[i]["start"], e = none.body[i]["end"];
    EXPECT_EQ(text.substr(b, e - b), none.body[i]["word"].get<std::string>());
  }
  Answer simple = post(c, "/token-classification",
                       json{{"inputs", json::array({text, text})},
                            {"parameters", {{"aggregation_strategy", "simple"}, {"ignore_labels", json::array()}}}}.dump());
  ASSERT_EQ(simple.status, 200) << simple.text;
  ASSERT_EQ(simple.body.size(), 2u);
  ASSERT_FALSE(simple.body[0].empty());
  EXPECT_TRUE(simple.body[0][0].contains("entity_group"));
  EXPECT_EQ(simple.body[0], simple.body[1]);
  expect_error(post(c, "/token-classification", R"({"inputs": "x", "parameters": {"aggregation_strategy": "best"}})"),
               422, "validation");
  expect_error(post(c, "/token-classification", R"({"inputs": "x", "parameters": 3})"), 422, "validation");
  expect_error(post(c, "/fill-mask", R"({"inputs": "x [MASK]"})"), 422, "validation");   // a tagger has no MLM head
}

TEST(ServeTasks, FillMaskCandidatesAndTargets) {
  Running s = serving(task_models().mlm);
  auto c = s.client();
  Answer one = post(c, "/fill-mask", R"({"inputs": "f5 [MASK] h7", "parameters": {"top_k": 4}})");
  ASSERT_EQ(one.status, 200) << one.text;
  ASSERT_EQ(one.body.size(), 4u);
  for (const auto& f : one.body) {
    const std::string tok = f["token_str"];
    EXPECT_EQ(f["sequence"], "f5 " + tok + " h7") << f.dump();
  }
  Answer two = post(c, "/fill-mask", R"({"inputs": ["[MASK] g6 [MASK]"], "parameters": {"top_k": 2}})");
  ASSERT_EQ(two.status, 200) << two.text;
  ASSERT_EQ(two.body.size(), 1u);      // one input
  ASSERT_EQ(two.body[0].size(), 2u);   // two masks
  ASSERT_EQ(two.body[0][0].size(), 2u);
  Answer t = post(c, "/fill-mask", R"({"inputs": "f5 [MASK] h7", "parameters": {"targets": ["g6", "i8"], "top_k": 5}})");
  ASSERT_EQ(t.status, 200) << t.text;
  ASSERT_EQ(t.body.size(), 2u);   // top_k capped by the targets
  std::set<std::string> got{t.body[0]["token_str"], t.body[1]["token_str"]};
  EXPECT_EQ(got, (std::set<std::string>{"g6", "i8"}));
  expect_error(post(c, "/fill-mask", R"({"inputs": "no mask here"})"), 422, "validation");
  expect_error(post(c, "/fill-mask", R"({"inputs": "[MASK]", "parameters": {"top_k": "3"}})"), 422, "validation");
}

}  // namespace

namespace {

// An idle keep-alive connection must not hold shutdown for its keep-alive timeout (5 s).
TEST(ServeShutdown, IdleKeepAliveConnectionsDoNotDelayStop) {
  auto s = std::make_unique<Running>(defaults());
  httplib::Client c = s->client();
  c.set_keep_alive(true);
  ASSERT_EQ(get(c, "/health").status, 200);
  ASSERT_EQ(post(c, "/predict", R"({"inputs": "f5"})").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  s.reset();   // stop() and join run()
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

}  // namespace

namespace {

TEST(ServeTasks, OpenApiDescribesEveryRoute) {
  Running s(defaults());
  auto c = s.client();
  const json doc = get(c, "/openapi.json").body;
  for (const auto& set : {ernie::known_post_routes(), ernie::known_get_routes()})
    for (const auto& route : set) EXPECT_TRUE(doc["paths"].contains(route)) << route;
}

}  // namespace

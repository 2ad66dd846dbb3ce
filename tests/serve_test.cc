// `ernie serve`: every route, every error answer, auth, 429, limits, slow clients, dynamic
// batching and graceful SIGTERM shutdown, on loopback ports picked by the kernel.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ernie/error.h"
#include "serve_util.h"
#include "ernie/serve.h"
#include "test_util.h"

namespace {

using namespace serve_test;
namespace fs = std::filesystem;
using ernie::testing::TempDir;
using ernie::testing::write_file;
using nlohmann::json;

TEST(ServeRoutes, HealthInfoOpenapiPage) {
  Running s(defaults());
  auto c = s.client();
  Answer h = get(c, "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body.value("status", ""), "ok");

  Answer info = get(c, "/info");
  ASSERT_EQ(info.status, 200) << info.text;
  EXPECT_EQ(info.body["model_id"], "ernie_relu_seqcls");
  EXPECT_EQ(info.body["model_dtype"], "f32");
  EXPECT_EQ(info.body["max_input_length"], 40);
  EXPECT_EQ(info.body["architecture"], "ErnieForSequenceClassification");
  EXPECT_EQ(info.body["version"], ERNIE_VERSION);
  EXPECT_EQ(info.body["model_type"]["classifier"]["id2label"]["2"], "LABEL_2");
  EXPECT_EQ(info.body["model_type"]["classifier"]["label2id"]["LABEL_1"], 1);

  Answer api = get(c, "/openapi.json");
  ASSERT_EQ(api.status, 200);
  EXPECT_EQ(api.body["openapi"], "3.0.3");
  for (const char* p : {"/predict", "/embed", "/tokenize", "/info", "/health", "/metrics"})
    EXPECT_TRUE(api.body["paths"].contains(p)) << p;

  Answer page = get(c, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_NE(page.text.find("<form id=\"form\">"), std::string::npos);
  EXPECT_NE(page.text.find("/predict"), std::string::npos);
}

TEST(ServeRoutes, PredictSinglePairBatchAndRawScores) {
  Running s(defaults());
  auto c = s.client();
  Answer one = post(c, "/predict", R"({"inputs": "f5 g6 h7"})");
  ASSERT_EQ(one.status, 200) << one.text;
  ASSERT_TRUE(one.body.is_array());
  ASSERT_EQ(one.body.size(), 3u);
  double sum = 0;
  std::set<std::string> labels;
  for (size_t i = 0; i < 3; ++i) {
    sum += one.body[i]["score"].get<double>();
    labels.insert(one.body[i]["label"].get<std::string>());
    if (i) {
      EXPECT_GE(one.body[i - 1]["score"].get<double>(), one.body[i]["score"].get<double>());
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(labels, (std::set<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));

  // The same text as `ernie classify` scores it.
  auto cli = ernie::testing::run_cli("classify --model '" + models().classifier.string() + "' --json 'f5 g6 h7'");
  ASSERT_EQ(cli.status, 0) << cli.err;
  const json cj = json::parse(cli.out);
  for (const auto& p : one.body) EXPECT_NEAR(p["score"].get<double>(), cj["scores"][p["label"].get<std::string>()].get<double>(), 1e-5);

  // TEI: ["a", "b"] at the top level is one pair; [["a"], ["a", "b"]] a batch of lists.
  Answer pair = post(c, "/predict", R"({"inputs": ["f5 g6", "h7 i8"]})");
  ASSERT_EQ(pair.status, 200) << pair.text;
  ASSERT_TRUE(pair.body[0].is_object()) << pair.text;
  Answer batch = post(c, "/predict", R"({"inputs": [["f5 g6 h7"], ["f5 g6", "h7 i8"]]})");
  ASSERT_EQ(batch.status, 200) << batch.text;
  ASSERT_EQ(batch.body.size(), 2u);
  ASSERT_TRUE(batch.body[0].is_array());
  // Batched rows equal the same inputs sent alone (ragged packing changes nothing).
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(batch.body[0][i]["label"], one.body[i]["label"]);
    EXPECT_NEAR(batch.body[0][i]["score"].get<double>(), one.body[i]["score"].get<double>(), 1e-5);
    EXPECT_EQ(batch.body[1][i]["label"], pair.body[i]["label"]);
    EXPECT_NEAR(batch.body[1][i]["score"].get<double>(), pair.body[i]["score"].get<double>(), 1e-5);
  }
  // TEI: a list of strings other than a pair is a batch of single texts.
  Answer single_list = post(c, "/predict", R"({"inputs": ["f5 g6 h7"]})");
  ASSERT_EQ(single_list.status, 200);
  ASSERT_TRUE(single_list.body.is_array() && single_list.body[0].is_array()) << single_list.text;
  EXPECT_EQ(single_list.body[0][0]["label"], one.body[0]["label"]);
  Answer flat = post(c, "/predict", R"({"inputs": ["f5 g6 h7", "f5 g6", "h7 i8"]})");
  ASSERT_EQ(flat.status, 200);
  ASSERT_EQ(flat.body.size(), 3u);
  EXPECT_EQ(flat.body[0][0]["label"], one.body[0]["label"]);
  EXPECT_NEAR(flat.body[0][0]["score"].get<double>(), one.body[0]["score"].get<double>(), 1e-5);

  Answer raw = post(c, "/predict", R"({"inputs": "f5 g6 h7", "raw_scores": true})");
  ASSERT_EQ(raw.status, 200) << raw.text;
  EXPECT_EQ(raw.body[0]["label"], one.body[0]["label"]);
  // softmax(logits) gives back the probabilities.
  double z = 0;
  for (const auto& p : raw.body) z += std::exp(p["score"].get<double>());
  for (size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(std::exp(raw.body[i]["score"].get<double>()) / z, one.body[i]["score"].get<double>(), 1e-5);
}

TEST(ServeRoutes, MultiLabelSigmoidAndRobertaPairs) {
  // multi_label_classification: a sigmoid per label, not a softmax.
  TempDir d;
  make_model(d.path(), "ernie_relu_seqcls");
  json cfg = json::parse(ernie::testing::read_file(d / "config.json"));
  cfg["problem_type"] = "multi_label_classification";
  write_file(d / "config.json", cfg.dump(2));
  ernie::ServeOptions o;
  o.model_dir = d.path().string();
  Running s(o);
  auto c = s.client();
  Answer p = post(c, "/predict", R"({"inputs": "f5 g6 h7"})");
  Answer raw = post(c, "/predict", R"({"inputs": "f5 g6 h7", "raw_scores": true})");
  ASSERT_EQ(p.status, 200) << p.text;
  ASSERT_EQ(raw.status, 200) << raw.text;
  EXPECT_EQ(get(c, "/info").body["model_type"]["classifier"]["multi_label"], true);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p.body[i]["label"], raw.body[i]["label"]);
    EXPECT_NEAR(p.body[i]["score"].get<double>(), 1.0 / (1.0 + std::exp(-raw.body[i]["score"].get<double>())), 1e-6);
  }

  // RoBERTa: one token type (pairs are all type 0, as transformers makes them), positions offset by pad + 1.
  TempDir r;
  make_model(r.path(), "roberta_seqcls");
  o.model_dir = r.path().string();
  Running rs(o);
  auto rc = rs.client();
  EXPECT_EQ(get(rc, "/info").body["max_input_length"], 38);
  Answer pair = post(rc, "/predict", R"({"inputs": ["f5 g6", "h7"]})");
  EXPECT_EQ(pair.status, 200) << pair.text;
  Answer batch = post(rc, "/predict", json{{"inputs", json::array({json::array({"f5 g6", "h7"}), json::array({words(60)})})},
                                            {"truncate", true}}.dump());
  EXPECT_EQ(batch.status, 200) << batch.text;
}

TEST(ServeRoutes, EmbedPoolingAndNormalize) {
  Running s(defaults());
  auto c = s.client();
  Answer cls = post(c, "/embed", R"({"inputs": "f5 g6 h7"})");
  ASSERT_EQ(cls.status, 200) << cls.text;
  ASSERT_EQ(cls.body.size(), 1u);
  ASSERT_EQ(cls.body[0].size(), 28u);   // hidden_size
  double norm = 0;
  for (const auto& x : cls.body[0]) norm += x.get<double>() * x.get<double>();
  EXPECT_NEAR(norm, 1.0, 1e-4);

  Answer raw = post(c, "/embed", R"({"inputs": ["f5 g6 h7", "i8"], "normalize": false})");
  ASSERT_EQ(raw.status, 200) << raw.text;
  ASSERT_EQ(raw.body.size(), 2u);
  double rn = 0;
  for (const auto& x : raw.body[0]) rn += x.get<double>() * x.get<double>();
  rn = std::sqrt(rn);
  ASSERT_GT(rn, 0);
  for (size_t k = 0; k < 28; ++k) EXPECT_NEAR(raw.body[0][k].get<double>() / rn, cls.body[0][k].get<double>(), 1e-4);

  Answer mean = post(c, "/embed", R"({"inputs": "f5 g6 h7", "pooling": "mean"})");
  ASSERT_EQ(mean.status, 200) << mean.text;
  double diff = 0;
  for (size_t k = 0; k < 28; ++k) diff += std::fabs(mean.body[0][k].get<double>() - cls.body[0][k].get<double>());
  EXPECT_GT(diff, 1e-3);   // mean pooling is not the first token
  expect_error(post(c, "/embed", R"({"inputs": "x", "pooling": "sum"})"), 422, "validation");
  Answer max = post(c, "/embed", R"({"inputs": "f5 g6 h7", "pooling": "max"})");
  ASSERT_EQ(max.status, 200) << max.text;

  // A model without a classification head embeds, and refuses /predict.
  ernie::ServeOptions o;
  o.model_dir = models().encoder.string();
  o.pooling = "mean";
  Running e(o);
  auto ce = e.client();
  Answer v = post(ce, "/embed", R"({"inputs": ["f5", "g6 h7"]})");
  ASSERT_EQ(v.status, 200) << v.text;
  EXPECT_EQ(v.body.size(), 2u);
  expect_error(post(ce, "/predict", R"({"inputs": "f5"})"), 422, "validation");
  Answer info = get(ce, "/info");
  EXPECT_EQ(info.body["model_type"]["embedding"]["pooling"], "mean");
}

TEST(ServeRoutes, TokenizeIdsAndOffsets) {
  Running s(defaults());
  auto c = s.client();
  Answer t = post(c, "/tokenize", R"({"inputs": "F5 zz g6"})");
  ASSERT_EQ(t.status, 200) << t.text;
  ASSERT_EQ(t.body.size(), 1u);
  const json& toks = t.body[0];
  ASSERT_EQ(toks.size(), 5u) << t.text;   // [CLS] f5 [UNK] g6 [SEP]
  EXPECT_EQ(toks[0]["id"], 1);
  EXPECT_TRUE(toks[0]["special"].get<bool>());
  EXPECT_TRUE(toks[0]["start"].is_null());
  EXPECT_EQ(toks[1]["text"], "F5");       // the input's own text (before lowercasing)
  EXPECT_EQ(toks[1]["token"], "f5");
  EXPECT_EQ(toks[1]["start"], 0);
  EXPECT_EQ(toks[1]["stop"], 2);
  EXPECT_EQ(toks[2]["id"], 3);            // [UNK]
  EXPECT_EQ(toks[3]["start"], 6);
  EXPECT_EQ(toks[4]["id"], 2);
  Answer plain = post(c, "/tokenize", R"({"inputs": ["f5", "g6 h7"], "add_special_tokens": false})");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body[0].size(), 1u);
  EXPECT_EQ(plain.body[1].size(), 2u);
}

TEST(ServeRoutes, MetricsCountRequestsBatchesAndTokens) {
  Running s(defaults());
  auto c = s.client();
  ASSERT_EQ(post(c, "/predict", R"({"inputs": "f5 g6 h7"})").status, 200);
  ASSERT_EQ(post(c, "/predict", R"({"inputs": []})").status, 400);
  // A request is counted just after its answer is written: wait until both are.
  Answer m;
  for (int i = 0; i < 200; ++i) {
    m = get(c, "/metrics");
    if (metric(m.text, "ernie_request_duration_seconds_count{route=\"/predict\"}") == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("text/plain"), std::string::npos);
  for (const char* name : {"ernie_requests_total", "ernie_request_duration_seconds", "ernie_batch_size",
                           "ernie_batch_tokens", "ernie_tokens_total", "ernie_queue_depth", "ernie_requests_in_flight"})
    EXPECT_NE(m.text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  EXPECT_EQ(metric(m.text, "ernie_requests_total{route=\"/predict\",status=\"200\"}"), 1);
  EXPECT_EQ(metric(m.text, "ernie_requests_total{route=\"/predict\",status=\"400\"}"), 1);
  EXPECT_EQ(metric(m.text, "ernie_request_duration_seconds_count{route=\"/predict\"}"), 2);
  EXPECT_EQ(metric(m.text, "ernie_tokens_total"), 5);   // [CLS] f5 g6 h7 [SEP]
  EXPECT_EQ(metric(m.text, "ernie_batch_size_count"), 1);
  EXPECT_EQ(metric(m.text, "ernie_queue_depth"), 0);
  EXPECT_EQ(metric(m.text, "ernie_batch_size_bucket{le=\"1\"}"), 1);
}

TEST(ServeErrors, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  ernie::ServeOptions o;
  o.max_client_batch_size = 4;
  o.max_input_chars = 50;
  o.max_body_bytes = 4096;
  Running s(o);
  auto c = s.client();
  expect_error(post(c, "/predict", "{\"inputs\": "), 400, "invalid_json");
  expect_error(post(c, "/predict", "not json"), 400, "invalid_json");
  expect_error(post(c, "/predict", ""), 400, "invalid_json");
  // A number beyond double is nlohmann's out_of_range, not its parse_error (was a 500; fuzz/serve).
  expect_error(post(c, "/predict", R"({"inputs": "a", "truncate": 1e999})"), 400, "invalid_json");
  expect_error(post(c, "/predict", "[1, 2]"), 422, "validation");
  expect_error(post(c, "/predict", R"({"text": "f5"})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": 5})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": [1, 2]})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": [["a", "b", "c"]]})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": [[]]})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": "f5", "truncate": "yes"})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": "f5", "raw_scores": 1})"), 422, "validation");
  expect_error(post(c, "/embed", R"({"inputs": "f5", "normalize": "no"})"), 422, "validation");
  expect_error(post(c, "/embed", R"({"inputs": [["f5"]]})"), 422, "validation");
  expect_error(post(c, "/tokenize", R"({"inputs": null})"), 422, "validation");
  expect_error(post(c, "/predict", R"({"inputs": []})"), 400, "empty");
  expect_error(post(c, "/embed", R"({"inputs": []})"), 400, "empty");
  expect_error(post(c, "/tokenize", R"({"inputs": []})"), 400, "empty");
  // Invalid UTF-8: a stray continuation byte, a truncated sequence, an encoded surrogate.
  expect_error(post(c, "/predict", "{\"inputs\": \"bad \x80 byte\"}"), 422, "tokenizer");
  expect_error(post(c, "/embed", "{\"inputs\": [\"ok\", \"\xE2\x82\"]}"), 422, "tokenizer");
  expect_error(post(c, "/tokenize", "{\"inputs\": \"\xED\xA0\x80\"}"), 422, "tokenizer");
  expect_error(post(c, "/predict", R"({"inputs": "lone \ud800 surrogate"})"), 422, "tokenizer");
  // Limits: inputs per request, characters per input, body bytes.
  expect_error(post(c, "/predict", R"({"inputs": [["a"], ["b"], ["c"], ["d"], ["e"]]})"), 413, "validation");
  expect_error(post(c, "/embed", R"({"inputs": ["a", "b", "c", "d", "e"]})"), 413, "validation");
  expect_error(post(c, "/predict", json{{"inputs", std::string(51, 'x')}}.dump()), 413, "validation");
  expect_error(post(c, "/predict", json{{"inputs", json::array({std::string(30, 'x'), std::string(30, 'y')})}}.dump()),
               413, "validation");
  EXPECT_EQ(post(c, "/predict", json{{"inputs", std::string(50, 'x')}}.dump()).status, 200);
  expect_error(post(c, "/predict", json{{"inputs", std::string(5000, 'x')}}.dump()), 413, "validation");
  // A chunked body (no Content-Length) is held to the same limit.
  EXPECT_EQ(first_line(raw_exchange(s.port, "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                                chunked(json{{"inputs", std::string(5000, 'x')}}.dump()))),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(first_line(raw_exchange(s.port, "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                                chunked(R"({"inputs": "f5 g6"})"))),
            "HTTP/1.1 200 OK");
  expect_error(get(c, "/nope"), 404, "not_found");
  // A known route with the wrong method: 405 with Allow.
  Answer wrong = post(c, "/health", "{}");
  expect_error(wrong, 405, "method_not_allowed");
  expect_error(get(c, "/embed"), 405, "method_not_allowed");
  // Still serving.
  EXPECT_EQ(get(c, "/health").status, 200);
  EXPECT_EQ(post(c, "/predict", R"({"inputs": "f5"})").status, 200);
}

TEST(ServeErrors, LongInputsAreTruncatedOrRefused) {
  ernie::ServeOptions o;
  o.max_input_chars = 100000;
  Running s(o);
  auto c = s.client();
  const std::string long_text = words(60);   // 62 tokens with [CLS] and [SEP]; the model takes 40
  // TEI's default: "truncate": false refuses; true cuts.
  expect_error(post(c, "/predict", json{{"inputs", long_text}}.dump()), 413, "validation");
  Answer cut = post(c, "/predict", json{{"inputs", long_text}, {"truncate", true}}.dump());
  ASSERT_EQ(cut.status, 200) << cut.text;
  Answer cut2 = post(c, "/predict", json{{"inputs", words(38)}, {"truncate", true}}.dump());   // the first 38 words: the same 40 tokens
  ASSERT_EQ(cut2.status, 200);
  EXPECT_NEAR(cut.body[0]["score"].get<double>(), cut2.body[0]["score"].get<double>(), 1e-6);
  Answer refused = post(c, "/predict", json{{"inputs", long_text}, {"truncate", false}}.dump());
  expect_error(refused, 413, "validation");
  EXPECT_NE(refused.body["error"].get<std::string>().find("62 tokens"), std::string::npos) << refused.text;
  expect_error(post(c, "/embed", json{{"inputs", json::array({"f5", long_text})}, {"truncate", false}}.dump()), 413,
               "validation");
  EXPECT_EQ(post(c, "/embed", json{{"inputs", long_text}, {"truncate", true}}.dump()).status, 200);
  // Pairs are cut longest-first.
  EXPECT_EQ(post(c, "/predict", json{{"inputs", json::array({long_text, "f5"})}, {"truncate", true}}.dump()).status, 200);
  Answer tk = post(c, "/tokenize", json{{"inputs", long_text}}.dump());
  EXPECT_EQ(tk.body[0].size(), 62u);   // /tokenize does not cut unless asked
  tk = post(c, "/tokenize", json{{"inputs", long_text}, {"truncate", true}}.dump());
  EXPECT_EQ(tk.body[0].size(), 40u);
}

TEST(ServeAuth, BearerKeyOnEveryRouteButHealthAndPage) {
  ernie::ServeOptions o;
  o.api_key = "s3cret";
  Running s(o);
  auto anon = s.client();
  auto wrong = s.client("nope");
  auto good = s.client("s3cret");
  EXPECT_EQ(get(anon, "/health").status, 200);
  EXPECT_EQ(get(anon, "/").status, 200);
  for (const char* path : {"/info", "/metrics", "/openapi.json"}) {
    expect_error(get(anon, path), 401, "unauthorized");
    expect_error(get(wrong, path), 401, "unauthorized");
    EXPECT_EQ(get(good, path).status, 200) << path;
  }
  for (const char* path : {"/predict", "/embed", "/tokenize"}) {
    expect_error(post(anon, path, R"({"inputs": "f5"})"), 401, "unauthorized");
    expect_error(post(wrong, path, R"({"inputs": "f5"})"), 401, "unauthorized");
    EXPECT_EQ(post(good, path, R"({"inputs": "f5"})").status, 200) << path;
  }
  auto r = anon.Get("/info");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
}

// Waits until the server reports `n` admitted requests.
void wait_in_flight(httplib::Client& c, int n) {
  for (int i = 0; i < 500; ++i) {
    if (metric(get(c, "/metrics").text, "ernie_requests_in_flight") == n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "never saw " << n << " requests in flight";
}

TEST(ServeErrors, FullQueueAnswers429WithRetryAfter) {
  ernie::ServeOptions o;
  o.max_concurrent_requests = 1;
  o.debug_batch_delay_ms = 800;
  Running s(o);
  auto first = std::async(std::launch::async, [&] {
    auto c = s.client();
    return post(c, "/predict", R"({"inputs": "f5"})");
  });
  auto c = s.client();
  wait_in_flight(c, 1);
  Answer over = post(c, "/predict", R"({"inputs": "g6"})");
  expect_error(over, 429, "overloaded");
  EXPECT_EQ(over.retry_after, "1");
  expect_error(post(c, "/embed", R"({"inputs": "g6"})"), 429, "overloaded");
  EXPECT_EQ(post(c, "/tokenize", R"({"inputs": "g6"})").status, 200);   // no model work: not queued
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(post(c, "/predict", R"({"inputs": "g6"})").status, 200);
}

TEST(ServeErrors, SlowClientIsDisconnected) {
  ernie::ServeOptions o;
  o.client_timeout_s = 1;
  Running s(o);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(s.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\":";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  char buf[512];
  ssize_t n;
  std::string got;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  EXPECT_EQ(n, 0) << "the server should close the connection (recv error " << errno << ")";
  EXPECT_LT(waited, 4.0);
  EXPECT_EQ(got.find("200 OK"), std::string::npos) << got;
  auto c = s.client();
  EXPECT_EQ(post(c, "/predict", R"({"inputs": "f5"})").status, 200);
}

TEST(ServeBatching, ConcurrentRequestsShareForwardPasses) {
  ernie::ServeOptions o;
  o.debug_batch_delay_ms = 300;   // the first pass holds the worker while the others queue up
  Running s(o);
  const int n = 8;
  std::vector<std::future<Answer>> answers;
  for (int i = 0; i < n; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] {
      auto c = s.client();
      return post(c, "/embed", json{{"inputs", words(1 + i)}}.dump());
    }));
  std::vector<Answer> got;
  for (auto& f : answers) got.push_back(f.get());
  auto c = s.client();
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(got[i].status, 200) << got[i].text;
    // Each answer is its own input's: the same as sent alone afterwards.
    Answer alone = post(c, "/embed", json{{"inputs", words(1 + i)}}.dump());
    for (size_t k = 0; k < 28; ++k)
      EXPECT_NEAR(got[i].body[0][k].get<double>(), alone.body[0][k].get<double>(), 1e-5) << i;
  }
  const std::string m = get(c, "/metrics").text;
  const double batches_for_concurrent = metric(m, "ernie_batch_size_count") - n;   // minus the n "alone" passes
  EXPECT_LT(batches_for_concurrent, n) << m;
  EXPECT_LT(metric(m, "ernie_batch_size_bucket{le=\"1\"}"), metric(m, "ernie_batch_size_count")) << m;
}

TEST(ServeOptionsCheck, RefusesImpossibleSettings) {
  ernie::ServeOptions o;
  o.model_dir = models().classifier.string();
  o.max_batch_tokens = 10;   // less than one 40-token input
  EXPECT_THROW(ernie::Server s(o), ernie::Error);
  o = ernie::ServeOptions{};
  o.model_dir = models().classifier.string();
  o.max_input_length = 41;
  EXPECT_THROW(ernie::Server s(o), ernie::Error);
  o = ernie::ServeOptions{};
  o.model_dir = (models().tmp / "missing").string();
  EXPECT_ANY_THROW(ernie::Server s(o));
  auto r = ernie::testing::run_cli("serve --model '" + (models().tmp / "missing").string() + "' --port 0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("ernie: error:"), std::string::npos) << r.err;
}

// `ernie serve` as a process: stderr announces the port; SIGTERM finishes the request in flight,
// refuses new connections and exits 0.
struct Child {
  pid_t pid = -1;
  int err_fd = -1;
  std::string err;
  std::thread reader;
  std::atomic<int> port{0};
  std::mutex mu;

  explicit Child(const std::vector<std::string>& args) {
    int p[2];
    if (::pipe(p) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(p[1], STDERR_FILENO);
      ::close(p[0]);
      ::close(p[1]);
      std::vector<char*> argv;
      std::string bin = ERNIE_BIN;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      _exit(127);
    }
    ::close(p[1]);
    err_fd = p[0];
    reader = std::thread([this] {
      char buf[256];
      ssize_t n;
      static const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
      while ((n = ::read(err_fd, buf, sizeof buf)) > 0) {
        std::lock_guard<std::mutex> lock(mu);
        err.append(buf, static_cast<size_t>(n));
        std::smatch m;
        if (!port && std::regex_search(err, m, re)) port = std::stoi(m[1]);
      }
    });
  }
  int wait_port() {
    for (int i = 0; i < 1000 && !port; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return port;
  }
  int wait_exit() {
    int status = 0;
    for (int i = 0; i < 3000; ++i) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string stderr_text() {
    std::lock_guard<std::mutex> lock(mu);
    return err;
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (reader.joinable()) reader.join();
    if (err_fd >= 0) ::close(err_fd);
  }
};

TEST(ServeShutdown, SigtermFinishesTheRequestInFlightAndExitsZero) {
  Child child({"serve", "--model", models().classifier.string(), "--port", "0", "--debug-batch-delay-ms", "1000"});
  ASSERT_GT(child.pid, 0);
  const int port = child.wait_port();
  ASSERT_GT(port, 0) << child.stderr_text();
  auto in_flight = std::async(std::launch::async, [port] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    return post(c, "/predict", R"({"inputs": "f5 g6"})");
  });
  httplib::Client c("127.0.0.1", port);
  wait_in_flight(c, 1);
  ASSERT_EQ(::kill(child.pid, SIGTERM), 0);
  const Answer a = in_flight.get();
  EXPECT_EQ(a.status, 200) << a.text;
  EXPECT_EQ(a.body.size(), 3u);
  EXPECT_EQ(child.wait_exit(), 0) << child.stderr_text();
  EXPECT_NE(child.stderr_text().find("SIGTERM"), std::string::npos) << child.stderr_text();
  // Nobody listens any more.
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/health"));
}

TEST(ServeShutdown, SigintWhenIdleExitsZero) {
  Child child({"serve", "--model", models().classifier.string(), "--port", "0", "--threads", "1"});
  ASSERT_GT(child.pid, 0);
  const int port = child.wait_port();
  ASSERT_GT(port, 0) << child.stderr_text();
  httplib::Client c("127.0.0.1", port);
  EXPECT_EQ(post(c, "/predict", R"({"inputs": "f5"})").status, 200);
  ASSERT_EQ(::kill(child.pid, SIGINT), 0);
  EXPECT_EQ(child.wait_exit(), 0) << child.stderr_text();
  EXPECT_NE(child.stderr_text().find("ernie serve: stopped"), std::string::npos) << child.stderr_text();
}

}  // namespace

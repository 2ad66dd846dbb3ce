// The HTTP side of `ernie serve`: routes, authentication, limits, JSON in and out.
#include "ernie/serve.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <numeric>
#include <set>
#include <thread>

#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/tokenizer.h"
#include "serve/assets.h"
#include "serve/batcher.h"
#include "pipeline/postprocess.h"
#include "serve/metrics.h"
#include "serve/request.h"

namespace ernie {

using nlohmann::json;
using serve::ApiError;

namespace {

const std::set<std::string>& known_routes() {
  static const std::set<std::string> routes = {"/",       "/health",  "/info",     "/metrics",
                                               "/predict", "/embed",  "/tokenize", "/openapi.json"};
  return routes;
}

std::string route_label(const std::string& path) { return known_routes().count(path) ? path : "other"; }

// When the current request's headers and body had been read (set by the pre-routing handler on
// the connection's thread, read by the logger on the same thread).
thread_local std::chrono::steady_clock::time_point t_request_start{};

bool same_secret(const std::string& a, const std::string& b) {
  // Constant time in the content (the length of the configured key is not a secret worth hiding).
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

const char* status_error_type(int status) {
  switch (status) {
    case 400: return "invalid_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "timeout";
    case 413: return "validation";
    case 414: return "validation";
    case 429: return "overloaded";
    default: return status >= 500 ? "backend" : "invalid_request";
  }
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

struct Server::Impl {
  explicit Impl(ServeOptions opts);
  void routes();
  void answer_error(httplib::Response& res, const ApiError& e);
  template <class F> void guarded(httplib::Response& res, F&& f);
  void predict(const std::string& body_text, httplib::Response& res);
  void embed(const std::string& body_text, httplib::Response& res);
  void tokenize(const std::string& body_text, httplib::Response& res);
  std::shared_ptr<serve::Job> run_job(std::shared_ptr<serve::Job> job, const char* route, serve::Batcher::Ticket& t);
  serve::Batcher::Ticket admit();
  Encoding encode(const serve::Sequence& s, bool truncate, size_t index) const;
  std::string info() const;

  ServeOptions o;
  Model model;
  Tokenizer tok;
  serve::Metrics metrics;
  std::unique_ptr<serve::Batcher> batcher;
  httplib::Server http;
  std::string model_id;
  size_t max_len = 0;
  bool classifier = false, multi_label = false;
  pipeline::Pooling default_pooling = pipeline::Pooling::Cls;
  int port = -1;

  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false, listen_done = false;
};

Server::Impl::Impl(ServeOptions opts)
    : o(std::move(opts)), model(Model::load(o.model_dir)), tok(Tokenizer::from_folder(o.model_dir)) {
  const Config& cfg = model.config();
  model.set_compute_type(parse_compute_type(o.dtype));
  if (!pipeline::parse_pooling(o.pooling, &default_pooling)) throw Error("--pooling must be cls or mean, not '" + o.pooling + "'");
  const size_t model_max = static_cast<size_t>(std::max<int64_t>(2, cfg.max_sequence_length()));
  max_len = o.max_input_length ? o.max_input_length : model_max;
  if (max_len > model_max)
    throw Error("--max-input-length " + std::to_string(max_len) + " exceeds the model's longest input (" +
                std::to_string(model_max) + " tokens)");
  if (max_len < 2) throw Error("--max-input-length must be at least 2 (the special tokens)");
  if (o.max_batch_tokens < max_len)
    throw Error("--max-batch-tokens " + std::to_string(o.max_batch_tokens) +
                " must be at least the longest input (" + std::to_string(max_len) + " tokens)");
  if (o.max_batch_requests < 1 || o.max_concurrent_requests < 1 || o.max_client_batch_size < 1 || o.http_threads < 1 ||
      o.client_timeout_s < 1 || o.request_timeout_s < 1 || o.max_wait_ms < 0 || o.max_body_bytes < 1)
    throw Error("serve: limits must be positive (--max-wait-ms may be 0)");
  if (tok.vocab().size() > static_cast<size_t>(cfg.vocab_size))
    throw Error("the tokenizer has " + std::to_string(tok.vocab().size()) + " tokens but the model's vocab_size is " +
                std::to_string(cfg.vocab_size));
  classifier = cfg.head() == Head::SequenceClassification && cfg.num_labels() >= 1;
  multi_label = cfg.problem_type == "multi_label_classification";
  model_id = o.model_id;
  if (model_id.empty()) {
    std::filesystem::path p = std::filesystem::path(o.model_dir).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    model_id = p.filename().string();
  }
  serve::BatcherOptions bo;
  bo.max_batch_tokens = o.max_batch_tokens;
  bo.max_batch_requests = o.max_batch_requests;
  bo.max_wait_ms = o.max_wait_ms;
  bo.max_concurrent_requests = o.max_concurrent_requests;
  bo.threads = o.threads;
  bo.debug_batch_delay_ms = o.debug_batch_delay_ms;
  batcher = std::make_unique<serve::Batcher>(model, bo, metrics);
  routes();
}

void Server::Impl::answer_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 429) res.set_header("Retry-After", "1");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(serve::error_body(e.what(), e.type), "application/json");
}

template <class F>
void Server::Impl::guarded(httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    answer_error(res, e);
  } catch (const std::exception& e) {
    answer_error(res, ApiError(500, "backend", e.what()));
  }
}

serve::Batcher::Ticket Server::Impl::admit() {
  serve::Batcher::Ticket t = batcher->admit();
  if (!t)
    throw ApiError(429, "overloaded",
                   "model is overloaded: " + std::to_string(o.max_concurrent_requests) + " requests are in flight");
  return t;
}

Encoding Server::Impl::encode(const serve::Sequence& s, bool truncate, size_t index) const {
  EncodeOptions eo;
  eo.max_length = truncate ? max_len : 0;
  eo.utf8_errors = Utf8Errors::Strict;
  Encoding e;
  try {
    e = s.pair ? tok.encode_pair(s.first, s.second, eo) : tok.encode(s.first, eo);
  } catch (const std::exception& ex) {
    throw ApiError(422, "tokenizer", "input " + std::to_string(index) + ": " + ex.what());
  }
  // RoBERTa-style models have one token type: their pairs are all type 0, as transformers makes them.
  const Config& cfg = model.config();
  if (cfg.type_vocab_size == 1) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
  for (int32_t t : e.type_ids)
    if (t < 0 || t >= cfg.type_vocab_size)
      throw ApiError(422, "validation", "input " + std::to_string(index) + ": token type " + std::to_string(t) +
                                            " is outside the model's " + std::to_string(cfg.type_vocab_size) +
                                            " token types (text pairs need type_vocab_size >= 2)");
  if (e.size() > max_len)
    throw ApiError(413, "validation", "input " + std::to_string(index) + " is " + std::to_string(e.size()) +
                                          " tokens, more than the maximum of " + std::to_string(max_len) +
                                          "; send \"truncate\": true to cut it");
  return e;
}

std::shared_ptr<serve::Job> Server::Impl::run_job(std::shared_ptr<serve::Job> job, const char* route,
                                                  serve::Batcher::Ticket& ticket) {
  metrics.add_inputs(route, job->inputs.size());
  batcher->submit(ticket, job);
  if (!job->wait_for(std::chrono::seconds(o.request_timeout_s)))
    throw ApiError(503, "timeout", "no answer within " + std::to_string(o.request_timeout_s) + " s (--request-timeout-s)");
  if (!job->error.empty()) throw ApiError(500, "backend", job->error);
  return job;
}

void Server::Impl::predict(const std::string& body_text, httplib::Response& res) {
  if (!classifier)
    throw ApiError(422, "validation", "model " + model_id + " (" + model.config().class_name() +
                                          ") has no sequence-classification head: use /embed");
  const json body = serve::parse_body(body_text);
  bool batch = false;
  const auto inputs = serve::parse_predict_inputs(body, &batch);
  const bool truncate = serve::get_bool(body, "truncate", true);
  const bool raw = serve::get_bool(body, "raw_scores", false);
  serve::check_limits(inputs, o.max_client_batch_size, o.max_input_chars);
  auto ticket = admit();
  auto job = std::make_shared<serve::Job>();
  job->task = serve::Task::Predict;
  for (size_t i = 0; i < inputs.size(); ++i) job->inputs.push_back(encode(inputs[i], truncate, i));
  run_job(job, "/predict", ticket);
  const Config& cfg = model.config();
  const int64_t N = cfg.num_labels();
  json out = json::array();
  for (const auto& logits : job->outputs) {
    std::vector<double> scores(logits.begin(), logits.end());
    if (!raw) scores = pipeline::label_probabilities(logits.data(), N, multi_label);
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    json list = json::array();
    for (size_t k : order) list.push_back({{"label", cfg.id2label[k]}, {"score", static_cast<float>(scores[k])}});
    out.push_back(std::move(list));
  }
  res.set_content(dump(batch ? out : out[0]), "application/json");
}

void Server::Impl::embed(const std::string& body_text, httplib::Response& res) {
  const json body = serve::parse_body(body_text);
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  const bool truncate = serve::get_bool(body, "truncate", true);
  const bool normalize = serve::get_bool(body, "normalize", true);
  pipeline::Pooling pooling = default_pooling;
  const std::string pname = serve::get_string(body, "pooling", pipeline::pooling_name(default_pooling));
  if (!pipeline::parse_pooling(pname, &pooling))
    throw ApiError(422, "validation", "\"pooling\" must be \"cls\" or \"mean\", not \"" + pname + "\"");
  std::vector<serve::Sequence> seqs;
  for (const auto& t : texts) seqs.push_back(serve::Sequence{t, {}, false});
  serve::check_limits(seqs, o.max_client_batch_size, o.max_input_chars);
  auto ticket = admit();
  auto job = std::make_shared<serve::Job>();
  job->task = serve::Task::Embed;
  job->pooling = pooling;
  for (size_t i = 0; i < seqs.size(); ++i) job->inputs.push_back(encode(seqs[i], truncate, i));
  run_job(job, "/embed", ticket);
  json out = json::array();
  for (auto& v : job->outputs) {
    if (normalize) pipeline::l2_normalize(v);
    out.push_back(v);
  }
  res.set_content(dump(out), "application/json");
}

void Server::Impl::tokenize(const std::string& body_text, httplib::Response& res) {
  const json body = serve::parse_body(body_text);
  bool batch = false;
  const auto texts = serve::parse_text_inputs(body, &batch);
  const bool specials = serve::get_bool(body, "add_special_tokens", true);
  const bool truncate = serve::get_bool(body, "truncate", false);
  std::vector<serve::Sequence> seqs;
  for (const auto& t : texts) seqs.push_back(serve::Sequence{t, {}, false});
  serve::check_limits(seqs, o.max_client_batch_size, o.max_input_chars);
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
  res.set_content(dump(out), "application/json");
}

std::string Server::Impl::info() const {
  const Config& cfg = model.config();
  json type;
  if (classifier) {
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < cfg.id2label.size(); ++i) {
      id2label[std::to_string(i)] = cfg.id2label[i];
      label2id[cfg.id2label[i]] = i;
    }
    type = {{"classifier", {{"id2label", id2label}, {"label2id", label2id}, {"multi_label", multi_label}}}};
  } else {
    type = {{"embedding", {{"pooling", pipeline::pooling_name(default_pooling)}}}};
  }
  const json j = {{"model_id", model_id},
                  {"model_sha", nullptr},
                  {"model_dtype", compute_type_name(model.compute_type())},
                  {"model_type", type},
                  {"architecture", cfg.class_name()},
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
  return dump(j);
}

void Server::Impl::routes() {
  http.new_task_queue = [n = static_cast<size_t>(o.http_threads)] { return new httplib::ThreadPool(n); };
  http.set_read_timeout(o.client_timeout_s, 0);
  http.set_write_timeout(o.client_timeout_s, 0);
  http.set_keep_alive_timeout(std::min(5, o.client_timeout_s));
  http.set_keep_alive_max_count(static_cast<size_t>(std::max(1, o.keep_alive_max_count)));
  http.set_payload_max_length(o.max_body_bytes);
  http.set_tcp_nodelay(true);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    if (o.api_key.empty() || req.path == "/health" || req.path == "/") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
        same_secret(auth.substr(prefix.size()), o.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    answer_error(res, ApiError(401, "unauthorized", "missing or wrong API key (send \"Authorization: Bearer KEY\")"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Every error answer carries a JSON body, also those httplib makes itself (413, 404, 400).
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg;
    if (res.status == 404) msg = "no route " + req.method + " " + req.path;
    else if (res.status == 413) msg = "the request body is larger than the limit (--max-body-bytes)";
    else msg = "HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path;
    res.set_content(serve::error_body(msg, status_error_type(res.status)), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(serve::error_body(msg, "backend"), "application/json");
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double seconds = -1;
    if (t_request_start.time_since_epoch().count() != 0)
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
    t_request_start = {};
    metrics.observe_request(route_label(req.path), res.status, seconds);
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve::web_page_html(), "text/html; charset=utf-8");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump(json{{"status", "ok"}, {"model_id", model_id}}), "application/json");
  });
  http.Get("/info", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(info(), "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(batcher->queue_depth(), batcher->requests_in_flight()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve::openapi_json(), "application/json");
  });
  // The body is read here, not by httplib: cpp-httplib 0.11 applies its payload limit to bodies
  // with a Content-Length only, not to chunked ones.
  using Route = void (Impl::*)(const std::string&, httplib::Response&);
  auto post = [this](const char* path, Route route) {
    http.Post(path, [this, route](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
      std::string body;
      bool too_big = false;
      const bool read = reader([&](const char* data, size_t n) {
        if (body.size() + n > o.max_body_bytes) {
          too_big = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
      if (too_big || res.status == 413) {
        res.set_header("Connection", "close");   // the rest of the body is not read
        answer_error(res, ApiError(413, "validation", "the request body is larger than the limit of " +
                                                          std::to_string(o.max_body_bytes) + " bytes (--max-body-bytes)"));
        return;
      }
      if (!read) {
        res.set_header("Connection", "close");
        answer_error(res, ApiError(400, "invalid_request", "the request body could not be read"));
        return;
      }
      guarded(res, [&] { (this->*route)(body, res); });
    });
  };
  post("/predict", &Impl::predict);
  post("/embed", &Impl::embed);
  post("/tokenize", &Impl::tokenize);
}

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  if (impl_) impl_->batcher->stop();
}

int Server::bind() {
  Impl& m = *impl_;
  if (m.port >= 0) return m.port;
  m.port = m.o.port == 0 ? m.http.bind_to_any_port(m.o.host) : (m.http.bind_to_port(m.o.host, m.o.port) ? m.o.port : -1);
  if (m.port < 0)
    throw Error("cannot listen on " + m.o.host + ":" + std::to_string(m.o.port) +
                " (address in use, or not an address of this machine)");
  return m.port;
}

int Server::port() const { return impl_->port; }

void Server::run() {
  Impl& m = *impl_;
  bind();
  // stop() may come before httplib's accept loop starts: a helper waits for both.
  std::thread stopper([&m] {
    std::unique_lock<std::mutex> lock(m.mu);
    m.cv.wait(lock, [&] { return m.stop_requested || m.listen_done; });
    while (!m.listen_done) {
      if (m.http.is_running()) {
        m.http.stop();
        break;
      }
      m.cv.wait_for(lock, std::chrono::milliseconds(1));
    }
  });
  m.http.listen_after_bind();   // returns once stopped and every connection handler has finished
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.listen_done = true;
  }
  m.cv.notify_all();
  stopper.join();
  m.batcher->stop();
}

void Server::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop_requested = true;
  }
  impl_->cv.notify_all();
}

}  // namespace ernie

// The HTTP side of `ernie serve`: settings, authentication, limits, errors, the route table and
// the server's life; the handlers are in routes.cc.
#include "ernie/serve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "ernie/error.h"
#include "serve/assets.h"
#include "serve/server_impl.h"

namespace ernie {

using nlohmann::json;
using serve::ApiError;

namespace {

std::string route_label(const std::string& path) {
  return known_post_routes().count(path) || known_get_routes().count(path) ? path : "other";
}

// When the current request's headers and body had been read (set by the pre-routing handler on
// the connection's thread, read by the logger on the same thread).
thread_local std::chrono::steady_clock::time_point t_request_start{};
// Whether the current request is on OpenAI's API (/v1/...), whose clients read errors as
// {"error": {"message", "type", "param", "code"}} (set by the pre-routing handler, same thread).
thread_local bool t_openai_route = false;

std::string openai_error_body(const std::string& message, int status, const std::string& ernie_type) {
  const char* type = status == 401 ? "authentication_error"
                     : status == 429 ? "rate_limit_error"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  return nlohmann::json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", ernie_type}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

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

Server::Impl::Impl(ServeOptions opts)
    : o(std::move(opts)), model(Model::load(o.model_dir, parse_compute_type(o.dtype))), tok(Tokenizer::from_folder(o.model_dir)) {
  const Config& cfg = model.config();
  default_pooling = pipeline::parse_pooling(o.pooling);
  if (default_pooling == pipeline::Pooling::None) throw Error("--pooling must be cls, mean or max");
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
  tasks = pipeline::supported_tasks(cfg);
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
  batcher = std::make_unique<serve::Batcher>(model, tok.mask_id(), bo, metrics);
  routes();
}

void Server::Impl::answer_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 429) res.set_header("Retry-After", "1");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(t_openai_route ? openai_error_body(e.what(), e.status, e.type) : serve::error_body(e.what(), e.type),
                  "application/json");
}

template <class F>
void Server::Impl::guarded(httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    answer_error(res, e);
  } catch (const pipeline::InputError& e) {
    answer_error(res, ApiError(e.too_long ? 413 : 422, "validation", e.what()));
  } catch (const Error& e) {   // a valid request the model cannot answer (options, missing head)
    answer_error(res, ApiError(422, "validation", e.what()));
  } catch (const std::exception& e) {
    answer_error(res, ApiError(500, "backend", e.what()));
  }
}

void Server::Impl::routes() {
  http.new_task_queue = [n = static_cast<size_t>(o.http_threads)] { return new httplib::ThreadPool(n); };
  http.set_read_timeout(o.client_timeout_s, 0);
  http.set_write_timeout(o.client_timeout_s, 0);
  http.set_keep_alive_timeout(std::min(5, o.client_timeout_s));
  http.set_keep_alive_max_count(static_cast<size_t>(std::max(1, o.keep_alive_max_count)));
  http.set_payload_max_length(o.max_body_bytes);
  http.set_tcp_nodelay(true);
  // The listening socket, so that bind() can raise its backlog (httplib's own options still apply).
  // httplib tries the host's addresses in turn and keeps the first that binds: the last one made.
  http.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket = sock;
  });

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    t_openai_route = req.path.rfind("/v1/", 0) == 0;
    {
      std::lock_guard<std::mutex> lock(busy_mu);
      busy.insert({req.remote_addr, req.remote_port});
    }
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
    const bool post_route = known_post_routes().count(req.path) > 0, get_route = known_get_routes().count(req.path) > 0;
    if (res.status == 404 && (post_route || get_route)) {   // a known route with the other method
      res.status = 405;
      res.set_header("Allow", post_route ? "POST" : "GET");
      msg = req.method + " " + req.path + " is not allowed: use " + (post_route ? "POST" : "GET");
    } else if (res.status == 404) msg = "no route " + req.method + " " + req.path;
    else if (res.status == 413) msg = "the request body is larger than the limit (--max-body-bytes)";
    else msg = "HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path;
    res.set_content(req.path.rfind("/v1/", 0) == 0 ? openai_error_body(msg, res.status, status_error_type(res.status))
                                                   : serve::error_body(msg, status_error_type(res.status)),
                    "application/json");
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
    {
      std::lock_guard<std::mutex> lock(busy_mu);
      const auto it = busy.find({req.remote_addr, req.remote_port});
      if (it != busy.end()) busy.erase(it);
    }
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
  // OpenAI's model list: clients and tools built on them ask it before anything else.
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json model = {{"id", model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "ernie"}};
    res.set_content(dump(nlohmann::json{{"object", "list"}, {"data", nlohmann::json::array({model})}}), "application/json");
  });
  http.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve::openapi_json(), "application/json");
  });
  // The body is read here, not by httplib: cpp-httplib 0.11 applies its payload limit to bodies
  // with a Content-Length only, not to chunked ones.
  using Route = Body (Impl::*)(const Body&);
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
      guarded(res, [&] { res.set_content(dump((this->*route)(serve::parse_body(body))), "application/json"); });
    });
  };
  // text-embeddings-inference's routes
  post("/predict", &Impl::predict);
  post("/embed", &Impl::embed);
  post("/embed_all", &Impl::embed_all);
  post("/rerank", &Impl::rerank);
  post("/similarity", &Impl::similarity);
  post("/tokenize", &Impl::tokenize);
  post("/decode", &Impl::decode);
  // OpenAI's embeddings API
  post("/v1/embeddings", &Impl::openai_embeddings);
  // the other heads, in the Hugging Face Inference API's shape ({"inputs", "parameters"})
  post("/question-answering", &Impl::question_answering);
  post("/token-classification", &Impl::token_classification);
  post("/fill-mask", &Impl::fill_mask);
}

const std::set<std::string>& known_post_routes() {
  static const std::set<std::string> r = {"/predict", "/embed", "/embed_all", "/rerank", "/similarity", "/tokenize",
                                          "/decode", "/v1/embeddings", "/question-answering",
                                          "/token-classification", "/fill-mask"};
  return r;
}

const std::set<std::string>& known_get_routes() {
  static const std::set<std::string> r = {"/", "/health", "/info", "/metrics", "/openapi.json", "/v1/models"};
  return r;
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
  // Debian's cpp-httplib is built with a listen backlog of 5: a burst of more new connections
  // than that had its SYNs dropped and retried a second later (16 clients connecting at once:
  // p99 1.05 s, the kernel's ListenOverflows counter rising). listen() again on a listening
  // socket only changes its backlog; the kernel caps it at net.core.somaxconn.
  if (m.listen_socket != INVALID_SOCKET) ::listen(m.listen_socket, SOMAXCONN);
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
        m.close_idle_connections();
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

// cpp-httplib 0.11 lets an idle keep-alive connection wait out its keep-alive timeout before its
// thread ends, which would hold shutdown for seconds. Its API does not expose the connections, so
// they are found among this process's sockets: accepted on our port, and not in a request.
void Server::Impl::close_idle_connections() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (...) {
      continue;
    }
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    auto port_of = [](const sockaddr_storage& a) {
      return a.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port)
             : a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port) : 0;
    };
    if (port_of(local) != port) continue;
    char host[INET6_ADDRSTRLEN] = {};
    const void* addr = peer.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in&>(peer).sin_addr)
                                                 : static_cast<const void*>(&reinterpret_cast<sockaddr_in6&>(peer).sin6_addr);
    if (!::inet_ntop(peer.ss_family, addr, host, sizeof host)) continue;
    std::lock_guard<std::mutex> lock(busy_mu);
    if (!busy.count({host, port_of(peer)})) ::shutdown(fd, SHUT_RDWR);
  }
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

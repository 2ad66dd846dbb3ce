// The server's state, shared by its HTTP setup (server.cc) and its route handlers (routes.cc).
#pragma once
#include <httplib.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "ernie/model.h"
#include "ernie/pipeline.h"
#include "ernie/serve.h"
#include "ernie/tokenizer.h"
#include "serve/batcher.h"
#include "serve/metrics.h"
#include "serve/request.h"

namespace ernie {

struct Server::Impl {
  explicit Impl(ServeOptions opts);
  void routes();   // HTTP settings, auth, errors, and every route
  void answer_error(httplib::Response& res, const serve::ApiError& e);
  template <class F> void guarded(httplib::Response& res, F&& f);

  // POST handlers (routes.cc): body text -> JSON answer.
  using Body = nlohmann::json;
  Body predict(const Body& body);
  Body embed(const Body& body);
  Body embed_all(const Body& body);
  Body rerank(const Body& body);
  Body tokenize(const Body& body);
  Body decode(const Body& body);
  Body similarity(const Body& body);
  Body openai_embeddings(const Body& body);
  Body question_answering(const Body& body);
  Body token_classification(const Body& body);
  Body fill_mask(const Body& body);
  std::string info() const;

  // A pipeline engine whose forward passes go through the batcher for `route`.
  pipeline::Engine engine(const char* route, bool truncate);
  bool supports(pipeline::Task t) const;
  void require(pipeline::Task t) const;   // 422 naming the model's tasks when it lacks t

  ServeOptions o;
  Model model;
  Tokenizer tok;
  serve::Metrics metrics;
  std::unique_ptr<serve::Batcher> batcher;
  httplib::Server http;
  std::string model_id;
  size_t max_len = 0;
  std::vector<pipeline::Task> tasks;
  pipeline::Pooling default_pooling = pipeline::Pooling::Cls;
  int port = -1;
  socket_t listen_socket = INVALID_SOCKET;   // recorded by the socket options callback

  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false, listen_done = false;

  // Connections with a request between its headers and its answer (remote address, port).
  std::mutex busy_mu;
  std::multiset<std::pair<std::string, int>> busy;
  void close_idle_connections();
};

// Every route: method and path (the 405 answers and the metrics' route label).
const std::set<std::string>& known_post_routes();
const std::set<std::string>& known_get_routes();

}  // namespace ernie

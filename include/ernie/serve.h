// `ernie serve`: an HTTP inference server with the text-embeddings-inference (TEI) API.
// Routes, errors and metrics are described in docs/SERVING.md.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace ernie {

struct ServeOptions {
  std::string model_dir;                 // any model folder Model::load reads, with its tokenizer
  std::string model_id;                  // shown by /info (default: the folder's name)
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: an ephemeral port (see Server::port)
  int threads = 0;                       // engine (OpenMP) threads for forward; 0: the default
  int http_threads = 512;                // connection handlers (tokenization, JSON); one per open connection
                                         // (as many as requests admitted: more clients than handlers waited
                                         // unseen for whole keep-alive sessions instead of meeting the 429)
  std::string dtype = "f32";             // f32 | bf16 | int8
  std::string pooling = "cls";           // default /embed pooling: cls | mean

  // Dynamic batching.
  size_t max_batch_tokens = 16384;       // token budget of one forward pass
  size_t max_batch_requests = 64;        // sequences in one forward pass
  int max_wait_ms = 2;                   // how long a batch waits for requests already being read
  size_t max_concurrent_requests = 512;  // requests admitted at once (queued or running); beyond: 429

  // Request limits.
  size_t max_body_bytes = 2u << 20;      // larger bodies: 413
  size_t max_client_batch_size = 32;     // inputs per request; more: 413
  size_t max_input_chars = 100000;       // characters (code points) per input; more: 413
  size_t max_input_length = 0;           // tokens per sequence; 0: the model's longest input
  int client_timeout_s = 10;             // a connection silent this long (reading or writing) is closed
  int request_timeout_s = 60;            // a request not answered in this time gets 503
  int keep_alive_max_count = 1000;       // requests per keep-alive connection
  std::string api_key;                   // when set: "Authorization: Bearer KEY" on all routes but / and /health

  // Testing aid (not a CLI option in --help): sleep this long before each forward pass, so that
  // tests can hold a request in flight.
  int debug_batch_delay_ms = 0;
};

// Loads the model and tokenizer (throws ernie::Error on any failure) and serves them.
class Server {
 public:
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (the ephemeral one for port 0). Throws on failure.
  int bind();
  // Serves until stop(): then stops accepting, finishes the requests in flight, drains the batch
  // queue and returns. Calls bind() first if it was not called.
  void run();
  // Thread-safe; returns at once (run() returns when the in-flight requests are done).
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ernie

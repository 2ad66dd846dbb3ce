// ernie serve: an HTTP inference server (text-embeddings-inference API) over a model folder.
// The server itself is src/serve (ernie/serve.h); this file holds the options and the signals.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "ernie/error.h"
#include "ernie/serve.h"

namespace ernie::cli {

namespace {

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_signals = 0;

// SIGINT/SIGTERM: the first asks for a graceful stop (through a pipe, the only safe way out of a
// handler); a second one exits at once.
extern "C" void on_stop_signal(int sig) {
  const int count = g_signals + 1;
  g_signals = count;
  if (count > 1) {
    static const char msg[] = "ernie serve: second signal, exiting without finishing requests\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(1);
  }
  const unsigned char b = static_cast<unsigned char>(sig);
  ssize_t ignored = ::write(g_signal_pipe[1], &b, 1);
  (void)ignored;
}

void run(const ServeOptions& o) {
  Server server(o);   // loads the model and tokenizer; throws ernie::Error with the reason
  const int port = server.bind();

  if (::pipe(g_signal_pipe) != 0) throw Error(std::string("serve: pipe: ") + std::strerror(errno));
  ::fcntl(g_signal_pipe[1], F_SETFL, O_NONBLOCK);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);   // a client that hangs up must not end the server

  std::thread watcher([&server] {
    unsigned char sig = 0;
    for (;;) {
      const ssize_t n = ::read(g_signal_pipe[0], &sig, 1);
      if (n == 1) break;
      if (n < 0 && errno == EINTR) continue;
      return;   // the pipe was closed: the server stopped by itself
    }
    std::cerr << "ernie serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
              << ": not accepting connections, finishing the requests in flight" << std::endl;
    server.stop();
  });

  std::cerr << "ernie serve: listening on http://" << o.host << ":" << port << " (model " << o.model_dir
            << ", dtype " << o.dtype << "; open / in a browser, stop with Ctrl-C or SIGTERM)" << std::endl;
  server.run();
  ::close(g_signal_pipe[1]);   // ends the watcher if no signal came
  watcher.join();
  ::close(g_signal_pipe[0]);
  std::cerr << "ernie serve: stopped" << std::endl;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "HTTP inference server with the text-embeddings-inference API: POST /predict, /embed, /tokenize; "
      "GET /info, /health, /metrics, /openapi.json and a web page at / (see docs/SERVING.md)");
  cmd->add_option("--model", o->model_dir, "Model folder (config.json + weights) with its vocab.txt or tokenizer.json")
      ->required();
  cmd->add_option("--model-id", o->model_id, "Name reported by /info (default: the folder's name)");
  cmd->add_option("--host", o->host, "Address to listen on; 0.0.0.0 exposes the server to the network")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "TCP port; 0 picks a free one (printed on stderr)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads of one forward pass (default: OMP_NUM_THREADS or all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--http-threads", o->http_threads,
                  "Connection handler threads: JSON and tokenization run here; each open keep-alive connection "
                  "holds one")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "Compute type of the matrix products: f32, bf16 or int8")
      ->check(CLI::IsMember({"f32", "fp32", "float32", "bf16", "int8"}))
      ->capture_default_str();
  cmd->add_option("--pooling", o->pooling, "Default /embed pooling: cls (first token) or mean")
      ->check(CLI::IsMember({"cls", "mean"}))
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", o->max_batch_tokens,
                  "Token budget of one forward pass (must hold the longest input)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-batch-requests", o->max_batch_requests, "Most sequences in one forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-wait-ms", o->max_wait_ms,
                  "While requests are still being read or tokenized, how long a batch waits for them "
                  "(a lone request never waits)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-concurrent-requests", o->max_concurrent_requests,
                  "Inference requests admitted at once (queued or running); more are refused with 429 and "
                  "Retry-After")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->max_body_bytes, "Largest request body; larger ones get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-client-batch-size", o->max_client_batch_size, "Most inputs in one request; more get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-input-chars", o->max_input_chars,
                  "Most characters (code points) in one input (a pair's two texts together); more get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-input-length", o->max_input_length,
                  "Most tokens per input, special tokens included (default: the model's longest input); longer "
                  "inputs are cut when the request says truncate (the default), else refused with 413");
  cmd->add_option("--client-timeout-s", o->client_timeout_s,
                  "A connection that sends or accepts nothing for this long is closed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--request-timeout-s", o->request_timeout_s,
                  "A request not answered within this time gets 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--api-key", o->api_key,
                  "Require \"Authorization: Bearer KEY\" on every route but /health and the page at /");
  cmd->add_option("--debug-batch-delay-ms", o->debug_batch_delay_ms, "Testing aid: sleep before each forward pass")
      ->group("");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli

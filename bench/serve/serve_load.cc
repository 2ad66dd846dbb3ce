// Load test for `ernie serve`: a fixed number of POST requests from N concurrent keep-alive
// clients on loopback, then throughput, p50/p99 latency and errors. With --compare it first runs
// the same requests one at a time and reports concurrent / sequential throughput.
// bench/serve/run.sh builds a model, starts the server and runs this; see docs/SERVING.md.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct Options {
  std::string host = "127.0.0.1", route = "/predict", api_key;
  int port = 0, requests = 640, concurrency = 16, warmup = 32;
  bool compare = false;
  double min_speedup = 0;
};

struct Phase {
  int clients = 0, requests = 0, errors = 0;
  double seconds = 0, p50_ms = 0, p99_ms = 0;
  std::string first_error;
  double rps() const { return seconds > 0 ? requests / seconds : 0; }
};

// Deterministic texts of 6..45 words (about 8..47 tokens with the specials).
std::vector<std::string> make_bodies(int n, const std::string& route) {
  static const char* words[] = {"the",   "movie", "was",   "great", "not",    "bad",   "acting", "plot",
                                "story", "and",   "but",   "very",  "boring", "fun",   "music",  "scene",
                                "i",     "liked", "it",    "a",     "lot",    "worst", "best",   "film",
                                "ever",  "seen",  "too",   "long",  "short",  "good",  "ending", "slow"};
  const size_t nw = sizeof words / sizeof *words;
  std::vector<std::string> out;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const int len = 6 + static_cast<int>(x % 40);
    std::string text;
    for (int k = 0; k < len; ++k) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      if (k) text += ' ';
      text += words[x % nw];
    }
    nlohmann::json body = {{"inputs", text}};
    if (route == "/embed") body["normalize"] = true;
    out.push_back(body.dump());
  }
  return out;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

Phase run_phase(const Options& o, int clients, const std::vector<std::string>& bodies) {
  std::atomic<int> next{0}, errors{0};
  std::vector<double> latency_ms(bodies.size(), 0);
  std::string first_error;
  std::mutex err_mu;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      httplib::Client cli(o.host, o.port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);   // headers and body go out as two writes: no Nagle delay
      cli.set_read_timeout(60, 0);
      cli.set_write_timeout(60, 0);
      if (!o.api_key.empty()) cli.set_bearer_token_auth(o.api_key.c_str());
      for (;;) {
        const int i = next++;
        if (i >= static_cast<int>(bodies.size())) return;
        const auto s = std::chrono::steady_clock::now();
        auto r = cli.Post(o.route.c_str(), bodies[static_cast<size_t>(i)], "application/json");
        latency_ms[static_cast<size_t>(i)] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
        if (!r || r->status != 200) {
          ++errors;
          std::lock_guard<std::mutex> lock(err_mu);
          if (first_error.empty())
            first_error = r ? "HTTP " + std::to_string(r->status) + ": " + r->body
                            : "transport error " + httplib::to_string(r.error());
        }
      }
    });
  for (auto& t : threads) t.join();
  Phase p;
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.clients = clients;
  p.requests = static_cast<int>(bodies.size());
  p.errors = errors;
  p.p50_ms = percentile(latency_ms, 0.50);
  p.p99_ms = percentile(latency_ms, 0.99);
  p.first_error = first_error;
  return p;
}

void print(const char* name, const Phase& p) {
  std::printf("%-10s clients %2d  requests %5d  errors %d  %.2f s  %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms\n", name,
              p.clients, p.requests, p.errors, p.seconds, p.rps(), p.p50_ms, p.p99_ms);
  if (!p.first_error.empty()) std::printf("           first error: %s\n", p.first_error.c_str());
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "serve_load: %s\nusage: serve_load --port P [--host 127.0.0.1] [--route /predict|/embed] "
               "[--requests 640] [--concurrency 16] [--warmup 32] [--api-key KEY] [--compare] [--min-speedup X]\n",
               msg);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--host") o.host = value();
    else if (a == "--port") o.port = std::atoi(value().c_str());
    else if (a == "--route") o.route = value();
    else if (a == "--requests") o.requests = std::atoi(value().c_str());
    else if (a == "--concurrency") o.concurrency = std::atoi(value().c_str());
    else if (a == "--warmup") o.warmup = std::atoi(value().c_str());
    else if (a == "--api-key") o.api_key = value();
    else if (a == "--compare") o.compare = true;
    else if (a == "--min-speedup") o.min_speedup = std::atof(value().c_str());
    else usage(("unknown argument " + a).c_str());
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is required");
  if (o.requests < 1 || o.concurrency < 1 || o.warmup < 0) usage("--requests and --concurrency must be positive");
  // Loopback only: this tool must not be pointed at someone else's server.
  if (o.host != "127.0.0.1" && o.host != "localhost" && o.host != "::1") usage("--host must be a loopback address");
  if (o.route != "/predict" && o.route != "/embed") usage("--route must be /predict or /embed");

  const auto bodies = make_bodies(o.requests, o.route);
  const auto warm = make_bodies(o.warmup, o.route);
  std::printf("serve_load: %s:%d%s, %d requests per phase (texts of 6..45 words), %d warm-up requests\n",
              o.host.c_str(), o.port, o.route.c_str(), o.requests, o.warmup);
  int errors = 0;
  Phase seq;
  if (o.compare) {
    if (o.warmup) run_phase(o, 1, warm);
    seq = run_phase(o, 1, bodies);
    print("sequential", seq);
    errors += seq.errors;
  }
  if (o.warmup) run_phase(o, o.concurrency, warm);
  const Phase conc = run_phase(o, o.concurrency, bodies);
  print("concurrent", conc);
  errors += conc.errors;
  int rc = errors ? 1 : 0;
  if (o.compare) {
    const double ratio = seq.rps() > 0 ? conc.rps() / seq.rps() : 0;
    std::printf("throughput ratio concurrent/sequential: %.2fx\n", ratio);
    if (o.min_speedup > 0 && ratio < o.min_speedup) {
      std::printf("FAIL: below the required %.2fx\n", o.min_speedup);
      rc = 1;
    }
  }
  if (errors) std::printf("FAIL: %d requests failed\n", errors);
  return rc;
}

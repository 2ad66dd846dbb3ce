// Prometheus metrics of the server, rendered in the text exposition format (version 0.0.4).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ernie::serve {

// Cumulative histogram with fixed upper bounds (+Inf implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Appends the _bucket/_sum/_count lines; `labels` is "" or `route="/embed"` (no braces).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;   // per bucket (not cumulative), last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // One answered HTTP request; `route` must be one of the server's routes or "other".
  void observe_request(const std::string& route, int status, double seconds);
  // One forward pass over `sequences` sequences holding `tokens` tokens.
  void observe_batch(size_t sequences, size_t tokens, double seconds);
  // Sequences of an admitted request, counted when they are queued for the model.
  void add_inputs(const std::string& route, size_t sequences);

  // The whole exposition; gauges are sampled by the caller.
  std::string render(int64_t queue_depth, int64_t requests_in_flight) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;   // (route, status) -> count
  std::map<std::string, Histogram> durations_;                  // route -> seconds
  Histogram batch_size_, batch_tokens_, forward_seconds_;
  uint64_t batches_ = 0, tokens_ = 0;
  std::map<std::string, uint64_t> inputs_;                      // route -> sequences
};

}  // namespace ernie::serve

#include "serve/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ernie::serve {

namespace {

std::vector<double> latency_bounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int precision = 6; precision <= 17; ++precision) {   // the shortest text that reads back as v
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : labels + ",";
  uint64_t cum = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cum += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + sep + "le=\"" + le + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_sum" + braces(labels) + " " + number(sum_) + "\n";
  out += name + "_count" + braces(labels) + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      batch_tokens_({16, 64, 256, 1024, 4096, 16384, 65536}),
      forward_seconds_(latency_bounds()) {}

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  if (seconds >= 0) durations_.try_emplace(route, latency_bounds()).first->second.observe(seconds);
}

void Metrics::observe_batch(size_t sequences, size_t tokens, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_size_.observe(static_cast<double>(sequences));
  batch_tokens_.observe(static_cast<double>(tokens));
  forward_seconds_.observe(seconds);
  ++batches_;
  tokens_ += tokens;
}

void Metrics::add_inputs(const std::string& route, size_t sequences) {
  std::lock_guard<std::mutex> lock(mu_);
  inputs_[route] += sequences;
}

std::string Metrics::render(int64_t queue_depth, int64_t requests_in_flight) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  header(out, "ernie_requests_total", "counter", "HTTP requests answered, by route and status code.");
  for (const auto& [key, n] : requests_)
    out += "ernie_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  header(out, "ernie_request_duration_seconds", "histogram",
         "Time from a request's headers and body being read to its response being written, by route.");
  for (const auto& [route, h] : durations_) h.render(out, "ernie_request_duration_seconds", "route=\"" + route + "\"");
  header(out, "ernie_inputs_total", "counter", "Sequences (texts or pairs) sent to the model, by route.");
  for (const auto& [route, n] : inputs_)
    out += "ernie_inputs_total{route=\"" + route + "\"} " + std::to_string(n) + "\n";
  header(out, "ernie_batches_total", "counter", "Forward passes run.");
  out += "ernie_batches_total " + std::to_string(batches_) + "\n";
  header(out, "ernie_tokens_total", "counter", "Tokens run through the model (special tokens included).");
  out += "ernie_tokens_total " + std::to_string(tokens_) + "\n";
  header(out, "ernie_batch_size", "histogram", "Sequences per forward pass.");
  batch_size_.render(out, "ernie_batch_size", "");
  header(out, "ernie_batch_tokens", "histogram", "Tokens per forward pass.");
  batch_tokens_.render(out, "ernie_batch_tokens", "");
  header(out, "ernie_batch_forward_duration_seconds", "histogram", "Time of one forward pass with its post-processing.");
  forward_seconds_.render(out, "ernie_batch_forward_duration_seconds", "");
  header(out, "ernie_queue_depth", "gauge", "Sequences waiting for a forward pass.");
  out += "ernie_queue_depth " + std::to_string(queue_depth) + "\n";
  header(out, "ernie_requests_in_flight", "gauge", "Admitted inference requests not yet answered.");
  out += "ernie_requests_in_flight " + std::to_string(requests_in_flight) + "\n";
  return out;
}

}  // namespace ernie::serve

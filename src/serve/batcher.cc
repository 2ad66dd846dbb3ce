#include "serve/batcher.h"

#include <omp.h>

#include <algorithm>
#include <exception>

#include "ernie/batch.h"

namespace ernie::serve {

bool Job::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done_; });
}

Batcher::Ticket::~Ticket() {
  if (owner_) owner_->release(submitted_);
}

Batcher::Batcher(const Model& model, int32_t mask_id, BatcherOptions options, Metrics& metrics)
    : model_(model), mask_id_(mask_id), opts_(options), metrics_(metrics) {
  opts_.max_batch_requests = std::max<size_t>(1, opts_.max_batch_requests);
  thread_ = std::thread([this] { worker(); });
}

Batcher::~Batcher() { stop(); }

Batcher::Ticket Batcher::admit() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || in_flight_ >= opts_.max_concurrent_requests) return Ticket();
  ++in_flight_;
  ++arriving_;
  return Ticket(this);
}

void Batcher::release(bool submitted) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (!submitted) --arriving_;
  }
  cv_.notify_all();   // a batch waiting for arrivals may go now
}

void Batcher::submit(Ticket& ticket, const std::shared_ptr<Job>& job) {
  job->outputs.assign(job->inputs.size(), {});
  job->remaining_ = job->inputs.size();
  job->enqueued_ = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ticket.submitted_) {
      ticket.submitted_ = true;
      --arriving_;
    }
    if (job->inputs.empty() || stopping_) {
      if (stopping_) job->error = "the server is shutting down";
      std::lock_guard<std::mutex> jl(job->mu_);
      job->done_ = true;
      job->cv_.notify_all();
    } else {
      for (size_t i = 0; i < job->inputs.size(); ++i) queue_.push_back(Item{job, i});
    }
  }
  cv_.notify_all();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

int64_t Batcher::requests_in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(in_flight_);
}

void Batcher::worker() {
  if (opts_.threads > 0) omp_set_num_threads(opts_.threads);
  std::vector<Item> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;   // stopping and drained
      // Take what fits; while requests are still being read or tokenized, wait up to max_wait_ms
      // (from the first sequence's arrival) for them to join this batch.
      const auto deadline = queue_.front().job->enqueued_ + std::chrono::milliseconds(opts_.max_wait_ms);
      size_t tokens = 0;
      for (;;) {
        while (!queue_.empty() && batch.size() < opts_.max_batch_requests) {
          const size_t len = queue_.front().job->inputs[queue_.front().index].size();
          if (!batch.empty() && tokens + len > opts_.max_batch_tokens) break;
          tokens += len;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        const bool full = batch.size() >= opts_.max_batch_requests || !queue_.empty();
        if (full || arriving_ == 0 || stopping_ || std::chrono::steady_clock::now() >= deadline) break;
        cv_.wait_until(lock, deadline, [&] { return !queue_.empty() || arriving_ == 0 || stopping_; });
      }
    }
    run_batch(batch);
  }
}

void Batcher::run_batch(std::vector<Item>& items) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Encoding> encs;   // copies: a failed batch is retried item by item
  encs.reserve(items.size());
  size_t tokens = 0;
  for (const Item& it : items) {
    encs.push_back(it.job->inputs[it.index]);
    tokens += encs.back().size();
  }
  std::string error;
  try {
    if (opts_.debug_batch_delay_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(opts_.debug_batch_delay_ms));
    const Config& cfg = model_.config();
    const Batch batch = pack_encodings(encs, cfg);
    const Outputs out = model_.forward(batch);
    for (size_t r = 0; r < items.size(); ++r) {
      Job& job = *items[r].job;
      job.outputs[items[r].index] = pipeline::extract(out, batch, encs[r], static_cast<int64_t>(r), job.need, cfg, mask_id_);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty() && items.size() > 1) {
    // One bad sequence must not fail the other clients' requests: run each alone.
    for (Item& it : items) {
      std::vector<Item> one{it};
      run_batch(one);
    }
    return;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics_.observe_batch(items.size(), tokens, seconds);
  for (Item& it : items) {
    Job& job = *it.job;
    std::lock_guard<std::mutex> lock(job.mu_);
    if (!error.empty() && job.error.empty()) job.error = error;
    if (--job.remaining_ == 0) {
      job.done_ = true;
      job.cv_.notify_all();
    }
  }
}

}  // namespace ernie::serve

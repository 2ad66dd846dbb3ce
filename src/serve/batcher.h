// Dynamic batching: HTTP handler threads submit tokenized requests; one worker thread owns the
// model and runs packed (padding-free) batches formed by a token budget and a sequence count.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ernie/model.h"
#include "ernie/tokenizer.h"
#include "ernie/pipeline.h"
#include "serve/metrics.h"

namespace ernie::serve {

// One request's sequences and, once done, one result per sequence.
struct Job {
  pipeline::Need need = pipeline::Need::SequenceLogits;
  std::vector<Encoding> inputs;
  std::vector<pipeline::SequenceOutput> outputs;   // what `need` asks of each sequence
  std::string error;                         // set when the forward pass failed

  // Waits until every sequence is done (true) or the timeout passes (false).
  bool wait_for(std::chrono::milliseconds timeout);

 private:
  friend class Batcher;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t remaining_ = 0;
  bool done_ = false;
  std::chrono::steady_clock::time_point enqueued_;
};

struct BatcherOptions {
  size_t max_batch_tokens = 16384;
  size_t max_batch_requests = 64;       // sequences per forward pass
  int max_wait_ms = 2;
  size_t max_concurrent_requests = 512;
  int threads = 0;                      // OpenMP threads of the worker (0: the default)
  int debug_batch_delay_ms = 0;
};

class Batcher {
 public:
  // mask_id: the tokenizer's mask token, for Need::MaskLogits.
  Batcher(const Model& model, int32_t mask_id, BatcherOptions options, Metrics& metrics);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // A request's place among the max_concurrent_requests admitted at once; released when it dies.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& o) noexcept : owner_(o.owner_), submitted_(o.submitted_) { o.owner_ = nullptr; }
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class Batcher;
    explicit Ticket(Batcher* b) : owner_(b) {}
    Batcher* owner_ = nullptr;
    bool submitted_ = false;
  };

  // An empty ticket when max_concurrent_requests are already admitted (answer 429).
  Ticket admit();
  // Queues every sequence of `job` (the ticket's request); the worker completes the job.
  void submit(Ticket& ticket, const std::shared_ptr<Job>& job);
  // Stops taking work once the queue is empty and joins the worker. Idempotent.
  void stop();

  int64_t queue_depth() const;        // sequences waiting
  int64_t requests_in_flight() const; // admitted, not yet released

 private:
  struct Item {
    std::shared_ptr<Job> job;
    size_t index;
  };
  void release(bool submitted);
  void worker();
  void run_batch(std::vector<Item>& items);

  const Model& model_;
  int32_t mask_id_;
  BatcherOptions opts_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t in_flight_ = 0;     // admitted requests
  size_t arriving_ = 0;      // admitted but not yet submitted (being parsed / tokenized)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ernie::serve

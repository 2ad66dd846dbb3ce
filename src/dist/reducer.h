// Data-parallel gradient averaging, as PyTorch DDP's reducer: the flat gradient buffer is cut into
// buckets of consecutive gradient groups (the model lays its gradients out in the order its
// backward pass finishes them), and each bucket's allreduce starts on a communication thread as
// soon as its last group is reported ready, overlapping the rest of the backward pass.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ernie/dist.h"

namespace ernie::dist {

class GradientReducer {
 public:
  // groups[i] = [begin, end) of grads, in readiness order and adjacent (groups[i].end ==
  // groups[i+1].begin). Buckets hold whole groups, at least bucket_bytes each (the last may be
  // smaller). overlap = false reduces everything in finish().
  GradientReducer(Communicator& comm, float* grads, const std::vector<Range>& groups, int64_t bucket_bytes,
                  bool overlap);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Group g's gradients are final for this step (called from the backward pass).
  void ready(size_t group);
  // Waits for every bucket (reducing those not yet launched); then every rank holds the sums.
  void finish();

  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    Range range;
    size_t last_group;   // the bucket launches when this group is ready
  };
  void launch(size_t bucket);
  void worker();

  Communicator& comm_;
  float* grads_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_group_;
  std::vector<bool> launched_;
  bool overlap_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<size_t> queue_;
  size_t done_ = 0, pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace ernie::dist

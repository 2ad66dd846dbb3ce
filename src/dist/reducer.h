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

  // `table` (inside one group) is an embedding table's gradient, rows of `width`, of which a step
  // touches only the rows named by its tokens: only the rows some rank touched are exchanged
  // (the word embeddings are most of a small model's gradient, and a batch uses few of their rows).
  void set_sparse_rows(Range table, int64_t width);
  // Rows of the table this rank's batch touched in the current step (every micro-batch).
  void touch_rows(const std::vector<int32_t>& rows);

  // Group g's gradients are final for this step (called from the backward pass).
  void ready(size_t group);
  // Waits for every bucket (reducing those not yet launched); then every rank holds the sums.
  void finish();


 private:
  struct Bucket {
    Range range;
    size_t last_group;   // the bucket launches when this group is ready
  };
  void launch(size_t bucket);
  void reduce(size_t bucket);   // the bucket's collectives (on the worker thread with overlap)
  void worker();

  Communicator& comm_;
  float* grads_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_group_;
  std::vector<bool> launched_;
  bool overlap_;
  Range table_{0, 0};
  int64_t width_ = 0;
  std::vector<float> touched_, rows_;   // [table rows] 0/1 marks, then the packed touched rows

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<size_t> queue_;
  size_t done_ = 0, pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace ernie::dist

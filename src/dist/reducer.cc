#include "dist/reducer.h"

#include "ernie/error.h"

namespace ernie::dist {

GradientReducer::GradientReducer(Communicator& comm, float* grads, const std::vector<Range>& groups,
                                 int64_t bucket_bytes, bool overlap)
    : comm_(comm), grads_(grads), overlap_(overlap && comm.size() > 1 && comm.concurrent_ok()) {
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g > 0 && groups[g].begin != groups[g - 1].end) throw Error("gradient groups must be adjacent");
    if (buckets_.empty() || buckets_.back().range.size() * 4 >= bucket_bytes)
      buckets_.push_back({groups[g], g});
    buckets_.back().range.end = groups[g].end;
    buckets_.back().last_group = g;
    bucket_of_group_.push_back(buckets_.size() - 1);
  }
  launched_.assign(buckets_.size(), false);
  if (overlap_) thread_ = std::thread([this] { worker(); });
}

GradientReducer::~GradientReducer() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

void GradientReducer::ready(size_t group) {
  if (comm_.size() == 1 || !overlap_ || group >= bucket_of_group_.size()) return;
  const size_t b = bucket_of_group_[group];
  if (buckets_[b].last_group == group) launch(b);
}

void GradientReducer::launch(size_t b) {
  if (launched_[b]) return;
  launched_[b] = true;
  if (!overlap_) {
    comm_.allreduce_sum(grads_ + buckets_[b].range.begin, buckets_[b].range.size());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(b);
    ++pending_;
  }
  cv_.notify_all();
}

void GradientReducer::finish() {
  if (comm_.size() > 1)
    for (size_t b = 0; b < buckets_.size(); ++b) launch(b);   // in bucket order on every rank
  if (overlap_) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_ == pending_; });
    if (error_) std::rethrow_exception(error_);
  }
  launched_.assign(buckets_.size(), false);
}

// One thread issues every bucket's collective, in launch order, which is the same on every rank
// (the backward pass reports groups in a fixed order).
void GradientReducer::worker() {
  for (;;) {
    size_t b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      b = queue_.front();
      queue_.pop_front();
    }
    try {
      comm_.allreduce_sum(grads_ + buckets_[b].range.begin, buckets_[b].range.size());
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++done_;
    }
    cv_.notify_all();
  }
}

}  // namespace ernie::dist

#include "dist/reducer.h"

#include <algorithm>

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

void GradientReducer::set_sparse_rows(Range table, int64_t width) {
  table_ = table;
  width_ = width;
  touched_.assign(static_cast<size_t>(table.size() / width), 0.0f);
}

void GradientReducer::touch_rows(const std::vector<int32_t>& rows) {
  for (const int32_t r : rows)
    if (r >= 0 && static_cast<size_t>(r) < touched_.size()) touched_[r] = 1.0f;
}

// Dense ranges of the bucket through one allreduce each; the sparse table through the union of
// the ranks' touched rows (a small allreduce of marks), packed, allreduced and unpacked.
void GradientReducer::reduce(size_t b) {
  const Range r = buckets_[b].range;
  if (width_ == 0 || table_.end <= r.begin || table_.begin >= r.end) {
    comm_.allreduce_sum(grads_ + r.begin, r.size());
    return;
  }
  if (table_.begin > r.begin) comm_.allreduce_sum(grads_ + r.begin, table_.begin - r.begin);
  if (r.end > table_.end) comm_.allreduce_sum(grads_ + table_.end, r.end - table_.end);
  comm_.allreduce_sum(touched_.data(), static_cast<int64_t>(touched_.size()));
  rows_.clear();
  float* table = grads_ + table_.begin;
  for (size_t row = 0; row < touched_.size(); ++row)
    if (touched_[row] > 0) rows_.insert(rows_.end(), table + row * width_, table + (row + 1) * width_);
  comm_.allreduce_sum(rows_.data(), static_cast<int64_t>(rows_.size()));
  const float* packed = rows_.data();
  for (size_t row = 0; row < touched_.size(); ++row)
    if (touched_[row] > 0) {
      std::copy(packed, packed + width_, table + row * width_);
      packed += width_;
    }
  std::fill(touched_.begin(), touched_.end(), 0.0f);
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
    reduce(b);
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
      reduce(b);
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

#include "pipeline/lines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ernie/error.h"

namespace ernie::pipeline {

namespace {

constexpr size_t kChunk = size_t{1} << 20;

int open_input(const std::string& path, uint64_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + " is not a regular file (the input is split across ranks by byte range)");
  }
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

ssize_t read_some(int fd, char* dst, size_t n, const std::string& what) {
  for (;;) {
    const ssize_t got = ::read(fd, dst, n);
    if (got >= 0) return got;
    if (errno != EINTR) throw Error("cannot read " + what + ": " + std::strerror(errno));
  }
}

// Newlines in bytes [lo, hi) of the file.
int64_t count_newlines(int fd, uint64_t lo, uint64_t hi, const std::string& what) {
  if (hi <= lo) return 0;
  if (::lseek(fd, static_cast<off_t>(lo), SEEK_SET) < 0) throw Error("cannot seek in " + what);
  std::vector<char> buf(kChunk);
  int64_t n = 0;
  for (uint64_t left = hi - lo; left > 0;) {
    const ssize_t got = read_some(fd, buf.data(), std::min<uint64_t>(left, buf.size()), what);
    if (got == 0) break;   // the file shrank; the ranks' size check catches a changing file
    n += std::count(buf.data(), buf.data() + got, '\n');
    left -= static_cast<uint64_t>(got);
  }
  return n;
}

}  // namespace

LineShard local_lines(const std::string& path, int rank, int size) {
  LineShard s;
  s.path = path;
  const int fd = open_input(path, &s.file_size);
  const dist::Range r = dist::share(static_cast<int64_t>(s.file_size), rank, size);
  s.begin = static_cast<uint64_t>(r.begin);
  s.end = static_cast<uint64_t>(r.end);
  // A line starts at 0 (in a non-empty file) and after every '\n' but a final one: this rank's
  // starts are the newlines at [begin - 1, min(end, size) - 1), plus offset 0 for the first rank.
  try {
    const uint64_t stop = std::min(s.end, s.file_size);
    if (stop > s.begin) {
      s.lines = count_newlines(fd, s.begin == 0 ? 0 : s.begin - 1, stop - 1, path);
      if (s.begin == 0) ++s.lines;
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return s;
}

LineShard plan_lines(const std::string& path, dist::Communicator& comm) {
  LineShard s = local_lines(path, comm.rank(), comm.size());
  const auto all = comm.allgather_bytes(std::to_string(s.file_size) + " " + std::to_string(s.lines));
  for (int i = 0; i < comm.size(); ++i) {
    char* rest = nullptr;
    const uint64_t size = std::strtoull(all[i].c_str(), &rest, 10);
    const int64_t lines = std::strtoll(rest, nullptr, 10);
    if (size != s.file_size)
      throw Error(path + ": rank " + std::to_string(i) + " sees " + std::to_string(size) + " bytes, this rank " +
                  std::to_string(s.file_size) + " (every rank must read the same file)");
    if (i < comm.rank()) s.first_line += lines;
    s.total_lines += lines;
  }
  return s;
}

LineReader::LineReader(const LineShard& shard, bool past_end) : owns_fd_(true), what_(shard.path), buf_(kChunk) {
  uint64_t size = 0;
  fd_ = open_input(shard.path, &size);
  end_ = past_end ? size : std::min(shard.end, size);
  if (shard.begin == 0 || shard.begin >= end_) {
    pos_ = shard.begin;
    eof_ = shard.begin >= end_;
    return;
  }
  // Skip the tail of the line that started before this rank's range (owned by the rank before).
  pos_ = shard.begin - 1;
  if (::lseek(fd_, static_cast<off_t>(pos_), SEEK_SET) < 0) throw Error("cannot seek in " + what_);
  while (head_ < tail_ || fill()) {
    const char* nl = static_cast<const char*>(std::memchr(buf_.data() + head_, '\n', tail_ - head_));
    const size_t used = nl ? static_cast<size_t>(nl - buf_.data()) + 1 - head_ : tail_ - head_;
    head_ += used;
    pos_ += used;
    if (nl) break;
  }
}

LineReader::LineReader(int fd) : fd_(fd), what_("standard input"), buf_(kChunk) {}

LineReader::~LineReader() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool LineReader::fill() {
  if (eof_) return false;
  head_ = tail_ = 0;
  const ssize_t got = read_some(fd_, buf_.data(), buf_.size(), what_);
  tail_ = static_cast<size_t>(got);
  eof_ = got == 0;
  return got > 0;
}

bool LineReader::next(std::string& line) {
  line.clear();
  if (pos_ >= end_ || (head_ == tail_ && !fill())) return false;
  for (;;) {
    const char* start = buf_.data() + head_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', tail_ - head_));
    const size_t len = nl ? static_cast<size_t>(nl - start) : tail_ - head_;
    line.append(start, len);
    const size_t used = len + (nl ? 1 : 0);
    head_ += used;
    pos_ += used;
    if (nl) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
    if (!fill()) return true;   // a last line without '\n'
  }
}

bool LineReader::next_batch(size_t n, std::vector<std::string>& lines) {
  // Strings already in `lines` keep their capacity for the next lines; n may be SIZE_MAX (all).
  size_t got = 0;
  for (;; ++got) {
    if (got == n) break;
    if (got == lines.size()) lines.emplace_back();
    if (!next(lines[got])) break;
  }
  lines.resize(got);
  return got > 0;
}

BatchReader::BatchReader(const LineShard& shard, size_t batch) : reader_(shard, true), batch_(batch) {
  const auto B = static_cast<int64_t>(batch);
  auto batch_start = [&](int64_t line) { return std::min(shard.total_lines, (line + B - 1) / B * B); };
  first_ = batch_start(shard.first_line);
  count_ = batch_start(shard.first_line + shard.lines) - first_;
  std::string skipped;   // the lines of a batch that the rank before runs
  for (int64_t i = shard.first_line; i < first_ && count_ > 0; ++i) reader_.next(skipped);
}

bool BatchReader::next(std::vector<std::string>& lines) {
  const auto n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(batch_), count_ - done_));
  if (n == 0 || !reader_.next_batch(n, lines)) return false;
  done_ += static_cast<int64_t>(lines.size());
  return true;
}

}  // namespace ernie::pipeline

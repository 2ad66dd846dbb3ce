// Text input of the batch commands (embed, classify): one record per line, read in chunks so that
// memory stays bounded whatever the input size (a 1 MiB chunk plus the lines of one batch), and
// split across the ranks of a job by byte range.
//
// Lines end at '\n'; a "\r\n" ending loses its '\r'; a last line without '\n' counts, and there is
// no empty line after a final '\n'. Rank r of N owns the lines that start in its byte range
// (dist::share of the file size): each rank reads its part (and BatchReader at most a batch
// beyond), and every line has one owner.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ernie/dist.h"

namespace ernie::pipeline {

// This rank's lines of a file and where they sit among all ranks' lines.
struct LineShard {
  std::string path;
  uint64_t file_size = 0;
  uint64_t begin = 0, end = 0;   // this rank owns the lines that start in [begin, end)
  int64_t first_line = 0;        // global index of this rank's first line
  int64_t lines = 0;             // this rank's lines
  int64_t total_lines = 0;       // every rank's lines
};

// Rank `rank` of `size`: its byte range and the lines that start in it (one pass over its bytes);
// first_line and total_lines are left 0. Refuses a missing or non-regular file.
LineShard local_lines(const std::string& path, int rank, int size);
// Collective: local_lines on every rank, the counts exchanged. Refuses ranks that see files of
// different sizes.
LineShard plan_lines(const std::string& path, dist::Communicator& comm);

// Reads the lines of a shard, or of a whole stream (stdin), a chunk at a time.
class LineReader {
 public:
  // past_end: go on into the next ranks' lines until the end of the file.
  explicit LineReader(const LineShard& shard, bool past_end = false);
  explicit LineReader(int fd);   // the whole stream from its current position; not closed
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its ending; false when the shard is done.
  bool next(std::string& line);
  // Up to n lines into `lines` (resized); false when none was left.
  bool next_batch(size_t n, std::vector<std::string>& lines);

 private:
  bool fill();   // more bytes into buf_; false at end of file
  int fd_ = -1;
  bool owns_fd_ = false;
  std::string what_;
  std::vector<char> buf_;
  size_t head_ = 0, tail_ = 0;   // unread bytes are buf_[head_, tail_)
  uint64_t pos_ = 0;             // file offset of buf_[head_]
  uint64_t end_ = UINT64_MAX;    // lines starting at or after this offset belong to the next rank
  bool eof_ = false;
};

// The batches of up to `batch` lines that this rank runs: the global batches [k*batch, (k+1)*batch)
// that start among its lines, reading on past its range to complete the last one. Every batch is
// then the one a single process forms, so the forward passes see the same rows and the output has
// the same bytes whatever the number of ranks (summation order in the kernels depends on the batch).
class BatchReader {
 public:
  BatchReader(const LineShard& shard, size_t batch);
  int64_t first_line() const { return first_; }   // global index of this rank's first line
  int64_t lines() const { return count_; }        // lines this rank runs
  bool next(std::vector<std::string>& lines);     // the next batch; false when done

 private:
  LineReader reader_;
  size_t batch_;
  int64_t first_ = 0, count_ = 0, done_ = 0;
};

}  // namespace ernie::pipeline

// One output file that every rank of a job fills with its part, in input order, published
// atomically: rank 0 creates the temporary file beside the target and shares its name, every
// rank writes its part, and after a barrier rank 0 fsyncs it and renames it into place. The
// target's folder must be shared by the ranks (one machine, or a shared filesystem).
// Constructors and commit() are collective. A single process works the same way, without peers.
// Destroyed before commit() (an error on this rank, which then ends the job), each rank removes
// the temporary files it knows of, so that a failed job leaves nothing behind.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ernie/atomic_file.h"
#include "ernie/dist.h"

namespace ernie::pipeline {

enum class RowFormat { Npy, Safetensors };
// By extension: .npy (NumPy format 1.0) or .safetensors; anything else is an ernie::Error.
RowFormat row_format_of(const std::filesystem::path& file);

// A float32 [rows, width] matrix (.npy, or .safetensors with one tensor `tensor_name`). Rank r
// writes rows [first_row, first_row + its rows) at their offsets.
class ShardedRows {
 public:
  ShardedRows(const std::filesystem::path& target, int64_t total_rows, int64_t width, int64_t first_row,
              const std::string& tensor_name, dist::Communicator& comm);
  ~ShardedRows();
  void write(const float* rows, int64_t n);   // this rank's next n rows
  void commit();

 private:
  dist::Communicator& comm_;
  std::unique_ptr<AtomicFile> file_;   // rank 0
  std::string path_;                   // the temporary file
  int fd_ = -1;
  bool committed_ = false;
  uint64_t next_ = 0;                  // file offset of this rank's next row
  int64_t width_ = 0;
};

// Text (JSON lines): rank 0 writes its own part straight into the temporary file, the others
// into part files beside it, which rank 0 appends in rank order at commit.
class ShardedText {
 public:
  ShardedText(const std::filesystem::path& target, dist::Communicator& comm);
  ~ShardedText();
  void write(std::string_view text);
  void commit();

 private:
  void flush();
  dist::Communicator& comm_;
  std::unique_ptr<AtomicFile> file_;   // rank 0
  std::string path_;                   // the temporary file
  int fd_ = -1;                        // other ranks: their part file
  bool committed_ = false;
  std::string buf_;
};

}  // namespace ernie::pipeline

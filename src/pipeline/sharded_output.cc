#include "pipeline/sharded_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "ernie/error.h"
#include "ernie/safetensors.h"

namespace ernie::pipeline {

namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what + ": " + std::strerror(errno));
}

// All of data at `offset` (pwrite), or at the current position when offset < 0.
void write_all(int fd, const char* data, size_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    const size_t step = std::min<size_t>(n, size_t{1} << 30);
    const ssize_t done = offset < 0 ? ::write(fd, data, step) : ::pwrite(fd, data, step, static_cast<off_t>(offset));
    if (done < 0) {
      if (errno == EINTR) continue;
      fail(path, "write failed");
    }
    data += done;
    n -= static_cast<size_t>(done);
    if (offset >= 0) offset += done;
  }
}

void sync_and_close(int& fd, const std::string& path) {
  if (::fsync(fd) != 0) fail(path, "fsync failed");
  const int rc = ::close(fd);
  fd = -1;
  if (rc != 0) fail(path, "close failed");
}

// Rank 0 creates the temporary file of `target`; every rank learns its name.
std::string shared_temp_file(const std::filesystem::path& target, std::unique_ptr<AtomicFile>& file,
                             dist::Communicator& comm, const std::string& header) {
  if (comm.is_root()) {
    file = std::make_unique<AtomicFile>(target);
    file->write(header);
  }
  return comm.allgather_bytes(comm.is_root() ? file->temp_path().string() : std::string())[0];
}

// NumPy format 1.0: magic, version, header length, then a dict padded so that data starts at a
// multiple of 64 bytes (numpy's own alignment).
std::string npy_header(int64_t rows, int64_t width) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(width) + "), }";
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string h("\x93NUMPY\x01\x00", 8);
  h += static_cast<char>(dict.size() & 0xff);
  h += static_cast<char>(dict.size() >> 8);
  return h + dict;
}

}  // namespace

RowFormat row_format_of(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".npy") return RowFormat::Npy;
  if (ext == ".safetensors") return RowFormat::Safetensors;
  throw Error("--output must end in .npy or .safetensors: " + file.string());
}

ShardedRows::ShardedRows(const std::filesystem::path& target, int64_t total_rows, int64_t width, int64_t first_row,
                         const std::string& tensor_name, dist::Communicator& comm)
    : comm_(comm), width_(width) {
  const std::string header =
      row_format_of(target) == RowFormat::Npy
          ? npy_header(total_rows, width)
          : safetensors_header({{tensor_name, TensorLayout{DType::F32, {total_rows, width}}}}, {{"format", "pt"}},
                               target.string());
  path_ = shared_temp_file(target, file_, comm, header);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) fail(path_, "cannot open the output's temporary file (every rank must see the output folder)");
  next_ = header.size() + static_cast<uint64_t>(first_row) * static_cast<uint64_t>(width) * sizeof(float);
}

ShardedRows::~ShardedRows() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

void ShardedRows::write(const float* rows, int64_t n) {
  const size_t bytes = static_cast<size_t>(n * width_) * sizeof(float);
  write_all(fd_, reinterpret_cast<const char*>(rows), bytes, static_cast<int64_t>(next_), path_);
  next_ += bytes;
}

void ShardedRows::commit() {
  sync_and_close(fd_, path_);
  comm_.barrier();   // every rank's rows are in the file
  if (file_) file_->commit();
  committed_ = true;
}

ShardedText::ShardedText(const std::filesystem::path& target, dist::Communicator& comm) : comm_(comm) {
  path_ = shared_temp_file(target, file_, comm, "");
  if (comm.is_root()) return;
  const std::string part = path_ + ".part" + std::to_string(comm.rank());
  fd_ = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(part, "cannot create a part of the output (every rank must see the output folder)");
}

ShardedText::~ShardedText() {
  if (fd_ >= 0) ::close(fd_);
  if (committed_) return;
  ::unlink(path_.c_str());
  for (int r = 1; r < comm_.size(); ++r) ::unlink((path_ + ".part" + std::to_string(r)).c_str());
}

void ShardedText::write(std::string_view text) {
  buf_ += text;
  if (buf_.size() >= kFlushBytes) flush();
}

void ShardedText::flush() {
  if (file_) file_->write(buf_);
  else write_all(fd_, buf_.data(), buf_.size(), -1, path_);
  buf_.clear();
}

void ShardedText::commit() {
  flush();
  if (fd_ >= 0) sync_and_close(fd_, path_);
  comm_.barrier();   // every part is complete
  committed_ = !file_;   // rank 0 publishes the file
  if (!file_) return;
  std::vector<char> chunk(kFlushBytes);
  for (int r = 1; r < comm_.size(); ++r) {
    const std::string part = path_ + ".part" + std::to_string(r);
    const int fd = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(part, "cannot read a part of the output");
    for (;;) {
      const ssize_t got = ::read(fd, chunk.data(), chunk.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        ::close(fd);
        fail(part, "read failed");
      }
      if (got == 0) break;
      file_->write(chunk.data(), static_cast<size_t>(got));
    }
    ::close(fd);
    ::unlink(part.c_str());
  }
  file_->commit();
  committed_ = true;
}

}  // namespace ernie::pipeline

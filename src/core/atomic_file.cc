#include "ernie/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "ernie/error.h"

namespace ernie {

namespace {
[[noreturn]] void fail(const std::filesystem::path& target, const std::string& what) {
  throw Error(target.string() + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& target) : target_(target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(target, ec)) throw Error(target.string() + ": is a directory");
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::random_device rd;
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    tmp_ = dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(rd()));
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST && errno != EINTR) break;
  }
  if (fd_ < 0) fail(target, "cannot create a temporary file in " + dir.string());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, std::min<size_t>(size, size_t{1} << 30));   // some kernels cap ~2 GB
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(target_, "write failed");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fchmod(fd_, 0644) != 0) fail(target_, "chmod failed");
  if (::fsync(fd_) != 0) fail(target_, "fsync failed");
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail(target_, "close failed");
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0) fail(target_, "cannot rename the temporary file into place");
  tmp_.clear();
  // Make the rename itself durable (best effort: some filesystems refuse fsync on folders).
  const std::filesystem::path dir = target_.parent_path().empty() ? "." : target_.parent_path();
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::filesystem::path& target, std::string_view bytes) {
  AtomicFile f(target);
  f.write(bytes);
  f.commit();
}

}  // namespace ernie

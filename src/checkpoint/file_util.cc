// Helpers every checkpoint reader shares: mapping a file read-only (and handing a mapped
// tensor's pages back once loading is done with it), and making strings from a file safe to put
// in a one-line error message.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "checkpoint/formats.h"
#include "ernie/error.h"

namespace ernie::checkpoint {

MappedFile map_file(const std::filesystem::path& file) {
  const std::string what = file.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(what + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(what + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(what + (S_ISDIR(st.st_mode) ? ": is a directory, not a checkpoint file" : ": not a regular file"));
  }
  MappedFile m;
  m.size = static_cast<size_t>(st.st_size);
  if (m.size == 0) {
    ::close(fd);
    return m;
  }
  void* addr = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);
  if (addr == MAP_FAILED) throw Error(what + ": cannot map: " + std::strerror(e));
  const size_t len = m.size;
  m.data = static_cast<const uint8_t*>(addr);
  m.keep = std::shared_ptr<const void>(addr, [len](const void* p) { ::munmap(const_cast<void*>(p), len); });
  return m;
}

}  // namespace ernie::checkpoint

namespace ernie {

// /proc/self/maps lines are "begin-end perms offset dev inode path"; anonymous memory has inode 0.
FilePageReleaser::FilePageReleaser() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long begin = 0, end = 0, inode = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %*s %*s %lu", &begin, &end, perms, &inode) != 4) continue;
    if (inode != 0 && std::strcmp(perms, "r--p") == 0) file_maps_.emplace_back(begin, end);
  }
}

void FilePageReleaser::operator()(const Tensor& t) const {
#ifdef MADV_PAGEOUT
  constexpr uintptr_t kPage = 4096;
  const uintptr_t a = reinterpret_cast<uintptr_t>(t.data<uint8_t>());
  const uintptr_t first = (a + kPage - 1) / kPage * kPage, last = (a + t.nbytes()) / kPage * kPage;
  if (last <= first) return;
  for (const auto& [begin, end] : file_maps_)   // only within one read-only mapping of a file
    if (first >= begin && last <= end) {
      ::madvise(reinterpret_cast<void*>(first), last - first, MADV_PAGEOUT);
      return;
    }
#else
  (void)t;
#endif
}

}  // namespace ernie

namespace ernie::checkpoint {

std::string printable(const std::string& s, size_t max_len) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace ernie::checkpoint

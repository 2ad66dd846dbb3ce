// What the fuzz targets share: checking a property, and handing bytes to readers that take a path.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// A property checked on every input: when it fails, say which one and abort, so that libFuzzer
// stops and keeps the input.
#define FUZZ_CHECK(ok)                                                     \
  do {                                                                     \
    if (!(ok)) {                                                           \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #ok); \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

// `bytes` as the content of one in-memory file (the same one on every call), named by its
// /proc/self/fd path; "" when it cannot be written.
inline std::string memory_file(std::string_view bytes) {
  static const int fd = memfd_create("fuzz_input", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0 ||
      pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    return "";
  return "/proc/self/fd/" + std::to_string(fd);
}

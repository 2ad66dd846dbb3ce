// Large buffers straight from the OS (mmap, 4 KiB aligned), unmapped on destruction; small ones
// from the heap. Used for packed weights and for the big temporaries of loading and packing: in
// the malloc heap, small long-lived allocations land in the holes such temporaries leave, and
// the heap's resident size then only grows (measured: +90 MB after loading an int8 checkpoint).
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>

#include "ernie/error.h"

namespace ernie::kernels {

template <class T>
class MappedBuffer {
 public:
  MappedBuffer() = default;
  explicit MappedBuffer(size_t count) { allocate(count); }
  void allocate(size_t count) {
    const size_t bytes = std::max<size_t>(((count * sizeof(T) + 63) / 64) * 64, 64);
    void* m = nullptr;
    if (bytes >= kMapped) {
      // MAP_POPULATE: every use fills the whole buffer at once; one batch of pages is cheaper
      // than a page fault per 4 KiB.
      m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (m == MAP_FAILED) m = nullptr;
    } else {
      m = std::aligned_alloc(64, bytes);
    }
    if (!m) throw Error("out of memory (" + std::to_string(bytes) + " bytes)");
    p_ = std::unique_ptr<T, Free>(static_cast<T*>(m), Free{bytes});
    n_ = count;
  }
  T* data() const { return p_.get(); }
  size_t size() const { return n_; }
  T& operator[](size_t i) const { return p_.get()[i]; }

 private:
  static constexpr size_t kMapped = size_t{1} << 20;
  struct Free {
    size_t bytes = 0;
    void operator()(T* p) const {
      if (bytes >= kMapped)
        munmap(p, bytes);
      else
        std::free(p);
    }
  };
  std::unique_ptr<T, Free> p_;
  size_t n_ = 0;
};

}  // namespace ernie::kernels

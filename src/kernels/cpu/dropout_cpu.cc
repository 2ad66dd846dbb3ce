// Dropout with a counter-based (Philox4x32-10) mask: nothing is stored, the mask is a pure
// function of (seed, stream, index).
//
// THE MASK FORMULA (checkpoints resumed mid-run and the attention recompute path rely on it; do
// not change it without versioning):
//   for stream index i (i = first + position in the buffer):
//     r    = philox4x32(counter = {lo32(i / 4), hi32(i / 4), lo32(stream), hi32(stream)},
//                       key     = {lo32(seed), hi32(seed)})          (include/ernie/rng.h)
//     word = r[i % 4]
//     u    = (word + 0.5) / 2^32                                      (in double, inside (0, 1))
//     keep iff u >= p;  x[i] = keep ? x[i] * (1 / (1 - p)) : 0      (1 / (1 - p) as a float)
// One Philox call serves four consecutive indices. p = 0 is a no-op; p >= 1 zeroes x.
#include <algorithm>
#include <cmath>
#include <string>
#include <cstring>

#include "ernie/error.h"
#include "ernie/rng.h"
#include "kernels/cpu/dropout_cpu.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

namespace detail {

void dropout_span(float* x, int64_t n, double p, float scale, DropoutKey key, uint64_t first) {
  if (n <= 0) return;
  const std::array<uint32_t, 2> k = {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)};
  const uint32_t s0 = static_cast<uint32_t>(key.stream), s1 = static_cast<uint32_t>(key.stream >> 32);
  int64_t i = 0;
  while (i < n) {
    const uint64_t idx = first + static_cast<uint64_t>(i);
    const uint64_t group = idx / 4;
    const auto r = philox4x32({static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32), s0, s1}, k);
    for (unsigned w = static_cast<unsigned>(idx % 4); w < 4 && i < n; ++w, ++i) {
      const double u = (static_cast<double>(r[w]) + 0.5) * (1.0 / 4294967296.0);
      x[i] = u >= p ? x[i] * scale : 0.0f;
    }
  }
}

}  // namespace detail

void dropout(float* x, int64_t n, float p, DropoutKey key, uint64_t first) {
  if (!(p >= 0.0f) || p > 1.0f) throw Error("dropout probability must be in [0, 1], got " + std::to_string(p));
  if (p == 0.0f || n <= 0) return;
  if (p >= 1.0f) {
    std::memset(x, 0, sizeof(float) * n);
    return;
  }
  const float scale = 1.0f / (1.0f - p);
  // Chunks of 4096 elements: the mask of an element does not depend on which chunk draws it.
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > 1 << 15)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    detail::dropout_span(x + b, e - b, p, scale, key, first + static_cast<uint64_t>(b));
  }
}

}  // namespace ernie::kernels

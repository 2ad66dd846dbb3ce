// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based
// generator, so element i of a stream is a pure function of (key, i) -- the same numbers whatever
// the order or thread count that draws them.
#pragma once
#include <array>
#include <cstdint>

namespace ernie {

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  // Uniform in (0, 1), never 0 or 1 (safe for log).
  float uniform(uint64_t index) const;
  // Standard normal by Box-Muller; element i uses counter i.
  float normal(uint64_t index) const;
 private:
  uint64_t seed_, stream_;
};

uint64_t stable_hash(const char* s);   // FNV-1a, to derive a stream per tensor name

}  // namespace ernie

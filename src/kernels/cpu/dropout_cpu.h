// Shared by dropout_cpu.cc and attention_cpu.cc: the serial dropout of one span (see the mask
// formula in dropout_cpu.cc), so attention's probabilities use exactly the public dropout's mask.
#pragma once
#include <cstdint>

#include "kernels/kernels.h"

namespace ernie::kernels::detail {

// x[0, n) = dropout of stream indices first .. first + n - 1; p in (0, 1), scale = 1 / (1 - p).
void dropout_span(float* x, int64_t n, double p, float scale, DropoutKey key, uint64_t first);

}  // namespace ernie::kernels::detail

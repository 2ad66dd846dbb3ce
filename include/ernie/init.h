// Fresh weights from a config, with the rules of transformers' _init_weights (default) or of
// PaddleNLP's init_weights. Counter-based RNG: the same seed gives the same bytes on any thread
// count.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ernie/config.h"
#include "ernie/tensor.h"

namespace ernie {

enum class InitStyle { HuggingFace, PaddleNLP };

std::map<std::string, Tensor> init_parameters(const Config& cfg, uint64_t seed,
                                              InitStyle style = InitStyle::HuggingFace);

// The fixed sinusoidal position table (Marian): first half sin, second half cos.
void fill_sinusoidal(float* table, int64_t positions, int64_t dim);

}  // namespace ernie

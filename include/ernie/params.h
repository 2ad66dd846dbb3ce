// The parameter list of a model: every tensor's name (Hugging Face spelling), shape, the part it
// belongs to and how it is initialized. One list serves initialization, checkpoint validation
// and the parameter counts of `config explain`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ernie/config.h"
#include "ernie/tensor.h"

namespace ernie {

enum class InitRule {
  Normal,            // N(0, initializer_range)
  NormalPadZero,     // N(0, initializer_range), row pad_token_id zeroed (HF Embedding padding_idx)
  Zeros,             // biases, LayerNorm beta
  Ones,              // LayerNorm gamma
  Sinusoidal,        // fixed table (not trainable)
};

struct ParamSpec {
  std::string name;   // full HF name, e.g. "ernie.encoder.layer.0.attention.self.query.weight"
  Shape shape;
  InitRule init;
  std::string part;   // "embeddings", "encoder", "pooler", "head"
  bool trainable = true;
};

// Parameters of `cfg` with its head (cfg.head()), named as transformers saves them: the base
// model under "<prefix>." when a head is present, unprefixed for the bare ...Model.
std::vector<ParamSpec> parameter_specs(const Config& cfg);
bool has_pooler(const Config& cfg);      // as transformers' add_pooling_layer for this head
int64_t count_parameters(const std::vector<ParamSpec>& specs, const std::string& part = "");

}  // namespace ernie

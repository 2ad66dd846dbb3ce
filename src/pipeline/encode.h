// Tokenization shared by the pipelines: the engine's length rule and the model's token types.
#pragma once
#include <string>
#include <string_view>

#include "ernie/pipeline.h"

namespace ernie::pipeline {

// Unpadded; cut to the engine's max_length when it truncates.
EncodeOptions encode_options(const Engine& e);
// One text (pair) as the model takes it: an input longer than max_length is an error naming
// `index` unless the engine truncates; one-token-type models (RoBERTa) get type 0 throughout.
Encoding encode_input(const Engine& e, std::string_view text, const std::string_view* pair, size_t index);
// The model's token types for an encoding made elsewhere (windows).
void fit_token_types(const Engine& e, Encoding& enc);
// id2label[k], or transformers' LABEL_k when the config names fewer labels.
std::string label_name(const Config& cfg, size_t k);

}  // namespace ernie::pipeline

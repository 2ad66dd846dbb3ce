#include "pipeline/encode.h"

#include <algorithm>

#include "ernie/error.h"

namespace ernie::pipeline {

EncodeOptions encode_options(const Engine& e) {
  EncodeOptions o;
  o.max_length = e.truncate ? e.max_length : 0;
  return o;
}

void fit_token_types(const Engine& e, Encoding& enc) {
  // RoBERTa-style models have one token type: pairs are all type 0, as transformers makes them.
  if (e.config->type_vocab_size == 1) std::fill(enc.type_ids.begin(), enc.type_ids.end(), 0);
  for (int32_t t : enc.type_ids)
    if (t < 0 || t >= e.config->type_vocab_size)
      throw Error("token type " + std::to_string(t) + " is outside the model's " +
                  std::to_string(e.config->type_vocab_size) + " token types (text pairs need type_vocab_size >= 2)");
}

std::string label_name(const Config& cfg, size_t k) {
  return k < cfg.id2label.size() ? cfg.id2label[k] : "LABEL_" + std::to_string(k);
}

Encoding encode_input(const Engine& e, std::string_view text, const std::string_view* pair, size_t index) {
  Encoding enc;
  try {
    enc = pair ? e.tokenizer->encode_pair(text, *pair, encode_options(e)) : e.tokenizer->encode(text, encode_options(e));
    fit_token_types(e, enc);
  } catch (const std::exception& ex) {
    throw InputError("input " + std::to_string(index) + ": " + ex.what(), false);
  }
  if (enc.size() > e.max_length)
    throw InputError("input " + std::to_string(index) + " is " + std::to_string(enc.size()) +
                         " tokens, more than the maximum of " + std::to_string(e.max_length) + " (truncate it)",
                     true);
  return enc;
}

}  // namespace ernie::pipeline

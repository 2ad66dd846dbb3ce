// Flags shared by the batch commands (embed, classify): the model, the input file, and how the
// texts are encoded and run.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "ernie/model.h"
#include "ernie/tokenizer.h"

namespace ernie::cli {

struct BatchFlags {
  std::string model, input, dtype, errors = "strict";
  size_t max_len = 0, batch = 32;
  int threads = 0;

  Model load_model() const;                                // with --dtype applied
  EncodeOptions encode_options(const Config& cfg) const;   // --max-len (default: the model's longest input), --errors
};

// --model, --input (required or not), --max-len, --batch, --threads, --dtype, --errors.
void add_batch_flags(CLI::App* cmd, BatchFlags& f, bool input_required);

}  // namespace ernie::cli

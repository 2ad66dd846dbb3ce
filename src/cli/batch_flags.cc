#include "cli/batch_flags.h"

#include "cli/tokenizer_io.h"

namespace ernie::cli {

Model BatchFlags::load_model() const {
  return dtype.empty() ? Model::load(model) : Model::load(model, parse_compute_type(dtype));
}

EncodeOptions BatchFlags::encode_options(const Config& cfg) const {
  EncodeOptions eo;
  eo.max_length = max_len ? max_len : static_cast<size_t>(cfg.max_sequence_length());
  eo.utf8_errors = parse_errors_flag(errors);
  return eo;
}

void add_batch_flags(CLI::App* cmd, BatchFlags& f, bool input_required) {
  cmd->add_option("--model", f.model, "Model folder with its vocab.txt (or tokenizer.json)")->required();
  cmd->add_option("--input", f.input,
                  "Text file, one text a line ('\\n' or '\\r\\n'), read in chunks; under mpirun each rank takes the "
                  "lines that start in its byte range")
      ->required(input_required);
  cmd->add_option("--max-len", f.max_len, "Truncate to this many tokens (default: the model's longest input)");
  cmd->add_option("--batch", f.batch, "Texts per forward pass (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", f.threads,
                  "Threads per process (default: OMP_NUM_THREADS or all cores, divided among the ranks on a machine)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--dtype", f.dtype, "Precision of the matrix products: f32 (exact), bf16 or int8 (default: f32; int8 for an `ernie quantize` "
                  "checkpoint)");
  cmd->add_option("--errors", f.errors, "Invalid UTF-8: strict (default: an error naming the line) | replace");
}

}  // namespace ernie::cli

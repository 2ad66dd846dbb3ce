// Writing model folders as `ernie init`, `ernie convert` and `ernie quantize` do, as library calls
// (the Python package calls them; the commands write the same files).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "ernie/checkpoint.h"
#include "ernie/config.h"
#include "ernie/init.h"
#include "ernie/model.h"
#include "ernie/tensor.h"

namespace ernie {

struct FolderReport {
  int64_t tensors = 0, parameters = 0;        // written
  int64_t quantized = 0;                      // Linear weights stored as int8
  int64_t bytes_before = 0, bytes_after = 0;  // quantize: parameter bytes before and after
  int copied_files = 0;                       // tokenizer files copied from the source folder
};

// The vocabulary/tokenizer files `ernie convert` copies beside the weights (vocab.txt, tokenizer.json, ...).
bool is_tokenizer_file(const std::string& name);

// `ernie init`: config.json (architectures named after cfg's head) + model.safetensors of
// init_parameters(cfg, seed, style), and `vocab` copied as vocab.txt when given.
FolderReport init_model_folder(Config cfg, const std::filesystem::path& out, uint64_t seed, InitStyle style,
                               const std::filesystem::path& vocab = {});

// `ernie convert`: the model's parameters as dtype (F32, F16 or BF16) in transformers' or
// PaddleNLP's layout + config.json in that ecosystem's form, and the tokenizer files of src_dir
// (when given). Refuses a dst that is a file or the same folder as src_dir.
FolderReport save_model_folder(const Model& model, const std::filesystem::path& dst, DType dtype = DType::F32,
                               WeightLayout layout = WeightLayout::HuggingFace, const std::filesystem::path& src_dir = {});

// `ernie quantize`: encoder Linear weights as I8 [out, in] + NAME_scale F32 [out] (per output
// channel), the rest as it is; src_dir's vocab.txt copied. Refuses an int8 model.
FolderReport quantize_model_folder(const Model& model, const std::filesystem::path& dst,
                                   const std::filesystem::path& src_dir = {});

// `ernie resize-positions`: the model with a position table of `positions` rows (config
// max_position_embeddings), written as save_model_folder does. Rows before the first position id
// (RoBERTa's pad_token_id + 1) stay as they are; of the trained rows:
//   shrinking: the first ones are kept (any rule);
//   copy:        new rows repeat the trained table (row p takes trained row (p - first) mod trained),
//                as Longformer extended RoBERTa's 512 positions to 4096;
//   interpolate: every trained row is resampled linearly over the new length (position
//                interpolation: the table's ends stay, the rows in between are blends);
//   random:      new rows drawn from N(0, initializer_range) with `seed` (transformers' _init_weights).
// Absolute tables only (a sinusoidal table is computed from the config; relative distance tables
// are refused).
enum class PositionInit { Copy, Interpolate, Random };
PositionInit parse_position_init(const std::string& name);   // copy | interpolate | random
FolderReport resize_positions(const Model& model, int64_t positions, PositionInit rule, const std::filesystem::path& dst,
                              const std::filesystem::path& src_dir = {}, uint64_t seed = 42);

}  // namespace ernie

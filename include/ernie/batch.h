// A packed, padding-free batch: the tokens of all sequences back to back, with offsets.
// Padding is an input/output format (see pack_padded / unpack_padded), never a cost.
#pragma once
#include <cstdint>
#include <vector>

#include "ernie/config.h"
#include "ernie/tensor.h"

namespace ernie {

struct Batch {
  int64_t rows = 0;                   // sequences in the batch (B)
  int64_t padded_len = 0;             // L of the padded input it came from (0 if built directly)
  std::vector<int64_t> offsets;       // [B+1]: sequence b is tokens offsets[b] .. offsets[b+1]-1
  std::vector<int32_t> input_ids;     // [T]
  std::vector<int32_t> token_type_ids;// [T]
  std::vector<int32_t> task_type_ids; // [T] (used when cfg.use_task_id)
  std::vector<int32_t> position_ids;  // [T] row into the position table
  std::vector<int32_t> column;        // [T] column in the padded row (relative distances, unpacking)

  int64_t tokens() const { return static_cast<int64_t>(input_ids.size()); }
  int64_t length(int64_t b) const { return offsets[b + 1] - offsets[b]; }
};

struct PaddedInputs {
  Tensor input_ids;        // [B, L] integer
  Tensor attention_mask;   // [B, L] optional (undefined: see MaskRule)
  Tensor token_type_ids;   // [B, L] optional (zeros)
  Tensor task_type_ids;    // [B, L] optional (cfg.task_id)
};

// Without an attention mask, Hugging Face attends to every token; PaddleNLP masks pad_token_id.
enum class MaskRule { AttendAll, MaskPadIds };

struct PackOptions {
  MaskRule mask = MaskRule::AttendAll;
  bool truncate = false;   // drop tokens beyond the model's longest input instead of failing
};

// Keeps the tokens whose mask is 1 and computes their position ids as the source model does
// (RoBERTa: pad_token_id + 1 + count of non-pad tokens before). Throws ernie::Error for ids
// outside the vocabulary or tables, over-long rows (naming both lengths) unless truncating, and
// rows with no token.
Batch pack_padded(const PaddedInputs& in, const Config& cfg, const PackOptions& opts = {});

// Tokenizer encodings (ernie/tokenizer.h) -> the packed batch, with position ids as the model
// computes them (pack_padded on the encodings padded to the longest).
struct Encoding;
Batch pack_encodings(const std::vector<Encoding>& encs, const Config& cfg, const PackOptions& opts = {});

// [T, C] packed rows -> [B, L, C] with zeros at positions that were not in the batch.
Tensor unpack_padded(const Tensor& packed, const Batch& batch);

}  // namespace ernie

// Padded [B, L] inputs <-> the packed, padding-free batch the model runs on.
#include "ernie/batch.h"

#include <algorithm>
#include <cstring>

#include "ernie/error.h"
#include "ernie/tokenizer.h"

namespace ernie {

namespace {

// Integer [B, L] input as int64, or an empty vector when the tensor is absent.
std::vector<int64_t> read_ids(const Tensor& t, const char* name, const Shape& want) {
  if (!t.defined()) return {};
  if (t.shape() != want)
    throw Error(std::string(name) + " has shape " + shape_str(t.shape()) + " but input_ids has " + shape_str(want));
  return t.to_i64();   // throws for non-integer dtypes, naming the dtype
}

std::string where(const char* name, int64_t b, int64_t j) {
  return std::string(name) + "[" + std::to_string(b) + "][" + std::to_string(j) + "]";
}

void check_range(int64_t v, int64_t limit, const char* name, int64_t b, int64_t j, const char* table) {
  if (v < 0 || v >= limit)
    throw Error(where(name, b, j) + " = " + std::to_string(v) + " is outside [0, " + std::to_string(limit) +
                ") (" + table + ")");
}

}  // namespace

Batch pack_padded(const PaddedInputs& in, const Config& cfg, const PackOptions& opts) {
  if (!in.input_ids.defined() || in.input_ids.rank() != 2)
    throw Error("input_ids must be a [batch, length] integer tensor, got " +
                (in.input_ids.defined() ? shape_str(in.input_ids.shape()) : std::string("nothing")));
  const Shape shape = in.input_ids.shape();
  const int64_t B = shape[0], L = shape[1];
  const std::vector<int64_t> ids = in.input_ids.to_i64();
  const std::vector<int64_t> mask = read_ids(in.attention_mask, "attention_mask", shape);
  const std::vector<int64_t> types = read_ids(in.token_type_ids, "token_type_ids", shape);
  const std::vector<int64_t> tasks = read_ids(in.task_type_ids, "task_type_ids", shape);

  const bool roberta = cfg.model_type == ModelType::Roberta;
  const int64_t max_len = cfg.max_sequence_length();

  Batch batch;
  batch.rows = B;
  batch.padded_len = L;
  batch.offsets.reserve(B + 1);
  batch.offsets.push_back(0);
  for (int64_t b = 0; b < B; ++b) {
    int64_t roberta_count = 0;   // non-pad tokens so far in this row (RoBERTa position ids)
    int64_t kept = 0;
    for (int64_t j = 0; j < L; ++j) {
      const int64_t i = b * L + j;
      const int64_t id = ids[i];
      bool keep;
      if (!mask.empty()) {
        if (mask[i] != 0 && mask[i] != 1)
          throw Error(where("attention_mask", b, j) + " = " + std::to_string(mask[i]) + " (must be 0 or 1)");
        keep = mask[i] == 1;
      } else {
        keep = opts.mask == MaskRule::AttendAll || id != cfg.pad_token_id;
      }
      // transformers' create_position_ids_from_input_ids counts non-pad ids over the whole row.
      if (roberta && id != cfg.pad_token_id) ++roberta_count;
      if (!keep) continue;
      if (j >= max_len) {
        if (opts.truncate) break;
        throw Error("row " + std::to_string(b) + " has a token at position " + std::to_string(j) +
                    " but the model allows at most " + std::to_string(max_len) + " tokens (max_position_embeddings " +
                    std::to_string(cfg.max_position_embeddings) + "); shorten the input or ask for truncation");
      }
      check_range(id, cfg.vocab_size, "input_ids", b, j, "vocab_size");
      const int64_t type = types.empty() ? 0 : types[i];
      check_range(type, cfg.type_vocab_size, "token_type_ids", b, j, "type_vocab_size");
      const int64_t task = tasks.empty() ? cfg.task_id : tasks[i];
      if (cfg.use_task_id) check_range(task, cfg.task_type_vocab_size, "task_type_ids", b, j, "task_type_vocab_size");
      const int64_t pos = roberta ? (id == cfg.pad_token_id ? cfg.pad_token_id : cfg.pad_token_id + roberta_count) : j;
      batch.input_ids.push_back(static_cast<int32_t>(id));
      batch.token_type_ids.push_back(static_cast<int32_t>(type));
      batch.task_type_ids.push_back(static_cast<int32_t>(task));
      batch.position_ids.push_back(static_cast<int32_t>(pos));
      batch.column.push_back(static_cast<int32_t>(j));
      ++kept;
    }
    if (kept == 0) throw Error("row " + std::to_string(b) + " has no token to attend to (attention_mask all 0)");
    batch.offsets.push_back(batch.offsets.back() + kept);
  }
  return batch;
}

Tensor unpack_padded(const Tensor& packed, const Batch& batch) {
  if (packed.dtype() != DType::F32 || packed.rank() < 1 || packed.dim(0) != batch.tokens())
    throw Error("unpack_padded: expected float32 [tokens, ...] with " + std::to_string(batch.tokens()) +
                " tokens, got " + shape_str(packed.shape()));
  Shape shape = {batch.rows, batch.padded_len};
  int64_t width = 1;
  for (int d = 1; d < packed.rank(); ++d) {
    shape.push_back(packed.dim(d));
    width *= packed.dim(d);
  }
  Tensor out = Tensor::zeros(DType::F32, shape);
  const float* src = packed.data<float>();
  float* dst = out.data<float>();
  for (int64_t b = 0; b < batch.rows; ++b)
    for (int64_t t = batch.offsets[b]; t < batch.offsets[b + 1]; ++t)
      std::memcpy(dst + (b * batch.padded_len + batch.column[t]) * width, src + t * width, width * sizeof(float));
  return out;
}

Batch pack_encodings(const std::vector<Encoding>& encs, const Config& cfg, const PackOptions& opts) {
  size_t L = 0;
  for (const auto& e : encs) L = std::max(L, e.size());
  const int64_t B = static_cast<int64_t>(encs.size());
  Tensor ids = Tensor::zeros(DType::I64, {B, static_cast<int64_t>(L)});
  Tensor mask = Tensor::zeros(DType::I64, {B, static_cast<int64_t>(L)});
  Tensor types = Tensor::zeros(DType::I64, {B, static_cast<int64_t>(L)});
  for (int64_t b = 0; b < B; ++b)
    for (size_t j = 0; j < encs[b].size(); ++j) {
      ids.data<int64_t>()[b * L + j] = encs[b].ids[j];
      mask.data<int64_t>()[b * L + j] = encs[b].attention_mask[j];
      types.data<int64_t>()[b * L + j] = encs[b].type_ids[j];
    }
  return pack_padded(PaddedInputs{ids, mask, types, Tensor()}, cfg, opts);
}

}  // namespace ernie

// safetensors: read (memory-mapped, zero-copy where aligned) and write (atomic), with the
// format's validation rules. Any violation is an ernie::Error naming the file and the problem.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ernie/tensor.h"

namespace ernie {

struct TensorFile {
  std::map<std::string, Tensor> tensors;              // name -> tensor (views into the mapping)
  std::map<std::string, std::string> metadata;        // "__metadata__" (e.g. format: pt)
};

// Limits: header at most 100 MB; offsets must be contiguous from 0 and cover the data area
// exactly; each tensor's byte size must equal numel * dtype size; no duplicate names.
// The file is mapped read-only: tensors whose data is aligned to their dtype size are views
// into the mapping (kept alive by the tensors themselves; do not write through them), the rest
// are copies.
TensorFile read_safetensors(const std::filesystem::path& file);
// The same validation on bytes in memory; `what` names the input in messages. The tensors are
// always copies, so `data` may be freed afterwards.
TensorFile parse_safetensors(const void* data, size_t size, const std::string& what);

// What write_safetensors puts before the data: the 8-byte length and the JSON header, padded to 8
// bytes, of tensors with these dtypes and shapes laid out in name order. For writers that stream
// the data themselves; `what` names the file in messages.
struct TensorLayout {
  DType dtype = DType::F32;
  Shape shape;
};
std::string safetensors_header(const std::map<std::string, TensorLayout>& tensors,
                               const std::map<std::string, std::string>& metadata, const std::string& what);

// Writes tensors in name order with the header padded to 8 bytes; atomic (temp file + rename).
void write_safetensors(const std::filesystem::path& file, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace ernie

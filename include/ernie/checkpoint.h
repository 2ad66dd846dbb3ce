// Checkpoints in every format ERNIE models circulate in: safetensors (Hugging Face or PaddleNLP
// layout), PyTorch `pytorch_model.bin` (zip + pickle), PaddleNLP `.pdparams` (pickle of numpy
// arrays) and sharded index files. Every reader validates before it trusts: a damaged or hostile
// file gives an ernie::Error "<file>: <problem>", never a crash, an allocation blow-up or code
// execution. Pickles are read by a restricted unpickler that only knows an allowlist of globals.
// See docs/CHECKPOINTS.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/tensor.h"

namespace ernie {

enum class CheckpointFormat {
  Safetensors,    // model.safetensors
  TorchZip,       // pytorch_model.bin (torch.save zip format)
  PaddlePickle,   // model_state.pdparams (paddle.save pickle)
  Sharded,        // *.index.json + shards (any of the above)
};
const char* to_string(CheckpointFormat f);

// Where names and Linear weights come from: transformers ([out, in], encoder.layer.N.attention...)
// or PaddleNLP ([in, out], encoder.layers.N.self_attn...).
enum class WeightLayout { HuggingFace, Paddle };
const char* to_string(WeightLayout l);

// The tensors of a checkpoint as stored (names and layout of the source).
struct Checkpoint {
  CheckpointFormat format = CheckpointFormat::Safetensors;
  std::vector<std::filesystem::path> files;        // the file(s) read
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;     // safetensors __metadata__, index metadata
  std::vector<std::string> notes;                  // what was found: protocol, globals, ignored entries
};

// Limits on what a reader will build; a file that needs more is refused.
struct ReadLimits {
  uint64_t max_pickle_ops = uint64_t{1} << 28;      // opcodes executed
  uint64_t max_stack = uint64_t{1} << 22;           // values on the pickle stack
  uint64_t max_memo = uint64_t{1} << 22;            // memo entries
  int max_depth = 64;                               // container nesting
  uint64_t max_tensor_bytes = uint64_t{64} << 30;   // one tensor
  uint64_t max_tensors = 1u << 20;
};

// One file: the format is detected from its first bytes (not its name). Legacy (pre-1.6,
// non-zip) PyTorch files are refused with a message saying how to convert them.
Checkpoint read_checkpoint_file(const std::filesystem::path& file, const ReadLimits& limits = {});
// A model folder: model.safetensors, model.safetensors.index.json, pytorch_model.bin,
// pytorch_model.bin.index.json, model_state.pdparams, model_state.pdparams.index.json (first found).
Checkpoint read_checkpoint_dir(const std::filesystem::path& dir, const ReadLimits& limits = {});
// The weights file read_checkpoint_dir would use, or "" when there is none.
std::filesystem::path find_weights_file(const std::filesystem::path& dir);

// In-memory parsers (fuzzing, tests). `what` names the input in messages.
Checkpoint parse_pdparams(const void* data, size_t size, const std::string& what, const ReadLimits& limits = {});
Checkpoint parse_torch_zip(const void* data, size_t size, const std::string& what, const ReadLimits& limits = {});

// Layout from the names (self_attn.q_proj, encoder.layers.N, linear1, layer_norm... -> Paddle;
// attention.self.query, encoder.layer.N, LayerNorm -> HF), else from safetensors metadata
// `format` ("np" / "paddle" -> Paddle, "pt" -> HF). `reason` says which evidence decided.
WeightLayout detect_layout(const std::map<std::string, Tensor>& tensors,
                           const std::map<std::string, std::string>& metadata, std::string* reason = nullptr);

// PaddleNLP names -> transformers names, Linear weights [in, out] -> [out, in] (embedding tables
// are never transposed), Paddle's QA `classifier` [H, 2] -> `qa_outputs`.
std::map<std::string, Tensor> paddle_to_hf(const std::map<std::string, Tensor>& tensors, const Config& cfg);
// The inverse, for `ernie convert --to paddle`.
std::map<std::string, Tensor> hf_to_paddle(const std::map<std::string, Tensor>& tensors, const Config& cfg);

// Without an attention mask, PaddleNLP masks pad_token_id and transformers attends to every
// token: the rule that matches the ecosystem the weights come from.
MaskRule default_mask_rule(WeightLayout layout);

// A memory hint for loaders: pages of a tensor that views a file mapped read-only (safetensors'
// tensors do) leave the resident set (MADV_PAGEOUT; read from the file again if touched, contents
// never change). Tensors in memory of their own are left alone: paging those out would only
// write them to swap. The process's mappings are read once, when it is made, so make it after
// the tensors are mapped. Model loading calls it on each tensor once copied or packed.
class FilePageReleaser {
 public:
  FilePageReleaser();
  void operator()(const Tensor& t) const;

 private:
  std::vector<std::pair<uintptr_t, uintptr_t>> file_maps_;   // read-only file mappings [begin, end)
};

// What Model::load uses: the folder's checkpoint in HF names and layout, plus the layout it had.
struct LoadedWeights {
  Checkpoint checkpoint;                       // tensors replaced by their HF form
  WeightLayout layout = WeightLayout::HuggingFace;
  std::string layout_reason;
};
LoadedWeights load_weights(const std::filesystem::path& dir, const Config& cfg, const ReadLimits& limits = {});

}  // namespace ernie

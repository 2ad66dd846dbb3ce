// An encoder with its head, its weights in one allocation, and the fp32 CPU forward pass.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/safetensors.h"
#include "ernie/tensor.h"

namespace ernie {

namespace model {
struct ModelWeights;
struct PackedEncoder;
}

// Precision of the encoder's matrix products. F32 is exact. BF16 multiplies bf16 copies of the
// weights and activations with fp32 accumulation. Int8 quantizes the Linear layers dynamically
// (weights per output channel, activations per token, u8 x s8 -> s32), as ONNX Runtime's dynamic
// quantization does. Embeddings, LayerNorm, softmax, activations and the attention products stay
// fp32 in every mode. A model keeps its fp32 parameters (for saving and for F32: the encoder's
// Linear weights packed for the fp32 kernels, everything else as loaded) unless it was loaded for
// one compute type only (Model::load(dir, type)).
enum class ComputeType { F32, BF16, Int8 };
const char* compute_type_name(ComputeType t);            // "f32", "bf16", "int8"
ComputeType parse_compute_type(const std::string& name);  // f32|fp32|float32|bf16|int8; throws otherwise

struct Outputs {
  Tensor embedding_output;    // [T, H] after embeddings + LayerNorm
  Tensor last_hidden_state;   // [T, H]
  Tensor pooler_output;       // [B, H] where the model has a pooler
  Tensor logits;              // [B, labels] | [T, labels] | [T, vocab] | [B/choices, choices]
  Tensor start_logits, end_logits;   // [T] (question answering)
  Tensor seq_relationship_logits;    // [B, 2] (pre-training)
  bool logits_per_token = false;     // logits are [T, ...]: unpack to [B, L, ...]
};

class Model {
 public:
  // A model folder: config.json (or model_config.json) + weights in any format of
  // ernie/checkpoint.h (safetensors, pytorch_model.bin, model_state.pdparams, sharded), in
  // transformers' or PaddleNLP's layout.
  static Model load(const std::filesystem::path& dir);
  // For inference in `only`: the encoder's Linear weights are packed straight into that type and
  // no fp32 copy stays beside a bf16 or int8 one (seed model: 170 MB of bf16 or 85 MB of int8
  // weights, without the 340 MB of fp32 that load(dir) keeps beside them). Such a model cannot
  // change its compute type, and parameters() refuses (there is nothing exact to give back).
  static Model load(const std::filesystem::path& dir, ComputeType only);
  // From tensors with HF names (prefixes and LayerNorm.gamma/beta spellings accepted; stale
  // position_ids buffers ignored). Refuses missing tensors, wrong shapes and NaN/Inf by name.
  // Tensors that view a mapped file have their pages handed back once used (FilePageReleaser).
  static Model from_tensors(Config cfg, const std::map<std::string, Tensor>& tensors,
                            std::optional<ComputeType> only = std::nullopt);

  const Config& config() const { return *cfg_; }
  // Parameters with their HF names. The encoder's Linear weights live packed (see Model::forward's
  // kernels); the first call unpacks [out, in] copies of them (exact fp32, their size again in
  // memory, shared by copies of this Model); the rest are views into the parameter buffer.
  // Thread-safe. Throws for a model loaded for bf16 or int8 only.
  const std::map<std::string, Tensor>& parameters() const;
  // What loading noticed but accepted: unused tensors, ignored buffers, tied weights.
  const std::vector<std::string>& load_notes() const { return notes_; }
  // What to do when no attention mask is given: PaddleNLP-layout weights (.pdparams, Paddle
  // safetensors) mask pad_token_id as PaddleNLP does; transformers-layout weights attend to all.
  MaskRule default_mask_rule() const { return mask_rule_; }

  Outputs forward(const Batch& batch) const;

  // Prepares the weights for a compute type (packing / bf16 copies / int8 quantization).
  // A model loaded from an int8 checkpoint (`ernie quantize`) starts in Int8. Throws for another
  // type than its own on a model loaded for one type only.
  void set_compute_type(ComputeType t);
  ComputeType compute_type() const { return compute_; }

 private:
  static Model load_folder(const std::filesystem::path& dir, std::optional<ComputeType> only);
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<float> storage_;             // one allocation for every parameter not packed
  std::map<std::string, Tensor> params_;       // views into storage_ (no encoder Linear weights)
  std::shared_ptr<const model::PackedEncoder> packed_;   // the encoder's Linear weights, fp32, packed
                                                        // (null when loaded for one lower type only)
  struct Unpacked;
  std::shared_ptr<Unpacked> unpacked_;         // parameters(): built on first use
  std::shared_ptr<const model::ModelWeights> weights_;   // typed pointers into storage_
  std::vector<std::string> notes_;
  MaskRule mask_rule_ = MaskRule::AttendAll;   // set by load() from the weights' layout
  ComputeType compute_ = ComputeType::F32;
};

}  // namespace ernie

// An encoder with its head, its weights in one allocation, and the fp32 CPU forward pass.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/safetensors.h"
#include "ernie/tensor.h"

namespace ernie {

namespace model { struct ModelWeights; }

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
  // A model folder: config.json + model.safetensors (Hugging Face layout).
  static Model load(const std::filesystem::path& dir);
  // From tensors with HF names (prefixes and LayerNorm.gamma/beta spellings accepted; stale
  // position_ids buffers ignored). Refuses missing tensors, wrong shapes and NaN/Inf by name.
  static Model from_tensors(Config cfg, const std::map<std::string, Tensor>& tensors);

  const Config& config() const { return *cfg_; }
  // Parameters with their HF names, as views into the single parameter buffer.
  const std::map<std::string, Tensor>& parameters() const { return params_; }
  // What loading noticed but accepted: unused tensors, ignored buffers, tied weights.
  const std::vector<std::string>& load_notes() const { return notes_; }

  Outputs forward(const Batch& batch) const;

 private:
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<float> storage_;             // one allocation for every parameter
  std::map<std::string, Tensor> params_;
  std::shared_ptr<const model::ModelWeights> weights_;   // typed pointers into storage_
  std::vector<std::string> notes_;
};

}  // namespace ernie

// A model being trained: fp32 parameters in one allocation, their gradients in a second of the
// same layout, the training forward pass (dropout, saved activations) and the hand-written
// backward pass. Heads that train: sequence classification (single-label, multi-label,
// regression, as transformers' problem_type), token classification, masked LM (tied decoder) and
// pre-training (masked LM + next-sentence / sentence-order); absolute positions.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/tensor.h"

namespace ernie {

namespace train { struct Engine; }

// What a batch should predict. Sequence classification: `labels` [B] (single-label) or
// `values` [B, N] (multi-label 0/1 targets, regression values). Token classification and masked
// LM: `labels` [T] over the packed tokens, -100 = ignored (as transformers). Pre-training adds
// `sentence_labels` [B] (next sentence / sentence order: 0 or 1).
struct Targets {
  std::vector<int32_t> labels;
  std::vector<float> values;
  std::vector<int32_t> sentence_labels;
};

struct StepOptions {
  bool dropout = true;     // off: evaluation, gradient checks
  uint64_t seed = 0;       // dropout masks are a pure function of (seed, micro_step, site, element)
  uint64_t micro_step = 0; // distinct per forward pass of a run
  float loss_scale = 1.0f; // gradients of loss * loss_scale (1 / grad_accum)
  // Pre-training: the sentence (NSP/SOP) loss's own scale (negative: loss_scale). A data-parallel
  // step normalizes the masked-token loss and the sentence loss by different global counts.
  float sentence_loss_scale = -1.0f;
  // A data-parallel shard of a larger batch: the global index of this batch's first sequence and
  // first token, so that dropout masks are those of the whole batch.
  int64_t first_row = 0, first_token = 0;
  // Called with each gradient group's index as soon as backward has finished it (see
  // TrainableModel::gradient_groups); a gradient reducer starts communication from here.
  std::function<void(size_t group)> on_gradients_ready;
};

struct StepResult {
  double loss = 0;         // mean loss of the batch
  Tensor logits;           // [B, N] or [T, N]; masked LM: [K, V] for the K masked tokens (evaluate() only)
  Tensor sentence_logits;  // [B, 2] next-sentence / sentence-order logits (pre-training)
  double sentence_loss = 0;   // its part of `loss` (pre-training)
};

class TrainableModel {
 public:
  // Copies `params` (HF names, as parameter_specs(cfg)); refuses missing or misshaped tensors.
  TrainableModel(Config cfg, const std::map<std::string, Tensor>& params);
  ~TrainableModel();
  TrainableModel(TrainableModel&&) noexcept;

  const Config& config() const { return *cfg_; }
  // Views into the parameter and gradient buffers, by HF name (same keys in both).
  const std::map<std::string, Tensor>& parameters() const { return params_; }
  const std::map<std::string, Tensor>& gradients() const { return grads_; }
  Tensor& parameter_storage() { return param_buf_; }   // every parameter back to back
  const Tensor& parameter_storage() const { return param_buf_; }
  Tensor& gradient_storage() { return grad_buf_; }
  // [begin, end) element ranges of the storage, in the order backward finishes their gradients:
  // the head, the last encoder layer ... the first, the embeddings. The storage is laid out in
  // this order, so the groups are adjacent and a run of them is one contiguous range.
  const std::vector<std::pair<int64_t, int64_t>>& gradient_groups() const { return groups_; }
  // Which parameters train (the sinusoidal table does not) and which take weight decay
  // (everything but biases and LayerNorm weights, as transformers' Trainer).
  bool trainable(const std::string& name) const;
  bool decays(const std::string& name) const;

  // enable_recompute: keep only each layer's input in the forward pass and recompute the
  // layer's activations during backward (less memory, about one more forward of time).
  void set_recompute(bool on) { recompute_ = on; }
  bool recompute() const { return recompute_; }

  // Forward, loss and backward of one micro-batch; gradients accumulate (+=) into gradients().
  StepResult forward_backward(const Batch& batch, const Targets& targets, const StepOptions& o);
  // Forward and loss only (no dropout unless asked, nothing saved for backward).
  StepResult evaluate(const Batch& batch, const Targets& targets);
  void zero_grad();

  // Bytes of the largest activation + activation-gradient arena used so far.
  int64_t peak_activation_bytes() const;

 private:
  std::shared_ptr<const Config> cfg_;
  Tensor param_buf_, grad_buf_;
  std::map<std::string, Tensor> params_, grads_;
  std::vector<std::pair<int64_t, int64_t>> groups_;
  std::unique_ptr<train::Engine> engine_;
  bool recompute_ = false;
};

}  // namespace ernie

// The model's building blocks, llm.c style: plain structs of weight pointers (views into the
// model's single parameter buffer) and one forward function per block. Shapes: T tokens of the
// packed batch, B sequences, H hidden, I intermediate, V vocab, N labels.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/model.h"
#include "ernie/tensor.h"
#include "kernels/kernels.h"

namespace ernie::model {

struct LinearW {
  const float* w = nullptr;   // [out, in]; null in a Model's encoder layers, which keep only `packed`
  const float* b = nullptr;   // [out]
  int64_t in = 0, out = 0;
  std::shared_ptr<const kernels::PackedLinear> packed;   // prepared for the model's compute type
};

// y[rows, out] = act(x · Wᵀ + b), or y += x · Wᵀ + b with accumulate (a fused residual add).
void apply_linear(const LinearW& w, const float* x, float* y, int64_t rows, Activation act = Activation::Linear,
                  bool accumulate = false);
// The model's own copy of its encoder's Linear weights: fp32, packed once at load
// (kernels::pack_linear); the [out, in] originals are not kept. Per layer: Q, K and V fused as one
// [3H, H] product (rows [Wq; Wk; Wv], bias [bq; bk; bv]), then the attention output, intermediate
// and output projections.
struct PackedEncoder {
  struct Layer {
    std::shared_ptr<const kernels::PackedLinear> qkv, attn_out, intermediate, output;
  };
  std::vector<Layer> layers;
};
// The encoder Linear layers PackedEncoder holds, by their HF names within a layer; the first three
// are the fused QKV product's rows, in order.
inline constexpr const char* kEncoderLinears[] = {"attention.self.query", "attention.self.key",
                                                  "attention.self.value", "attention.output.dense",
                                                  "intermediate.dense", "output.dense"};
// Whether `name` is one of the encoder Linear weights PackedEncoder holds (HF name, any base prefix).
bool is_packed_encoder_weight(const std::string& name);

struct ModelWeights;
// Points every encoder Linear of `w` at `packed` in a compute type: F32 uses the fp32 copies
// themselves; BF16 and S8 pack their own copies from them (heads stay fp32; they are a rounding
// error of the cost). `int8` optionally supplies stored int8 weights by HF weight name.
struct StoredInt8 {
  const int8_t* q;
  const float* scale;
};
void prepare_weights(ModelWeights& w, const PackedEncoder& packed, kernels::MatType type,
                     const std::map<std::string, StoredInt8>* int8 = nullptr);
struct EncoderLayerW;
void prepare_layer(EncoderLayerW& layer, const PackedEncoder::Layer& packed, kernels::MatType type,
                   const std::map<std::string, StoredInt8>* int8 = nullptr);   // one layer of the above
struct LayerNormW {
  const float* gamma = nullptr;   // [H]
  const float* beta = nullptr;    // [H]
};

struct EmbeddingW {
  const float* word = nullptr;       // [V, H]
  const float* position = nullptr;   // [max_position_embeddings, H]
  const float* token_type = nullptr; // [type_vocab_size, H]
  const float* task_type = nullptr;  // [task_type_vocab_size, H] when use_task_id
  LayerNormW norm;
};

struct EncoderLayerW {
  std::string prefix;   // HF name prefix, "encoder.layer.N." (with the base prefix)
  LinearW query, key, value, attn_out, intermediate, output;
  // Q, K and V as one [3H, H] product (prepare_weights): one pass over x, one kernel call.
  LinearW qkv;
  const float* distance = nullptr;   // [2 * max_position_embeddings - 1, head_dim] (relative kinds)
  LayerNormW attn_norm, out_norm;
};

struct HeadW {
  LinearW pooler;                 // [H, H] when the model has a pooler
  LinearW classifier;             // [N, H] (seq/token classification, multiple choice)
  LinearW cls_dense;              // RoBERTa sequence classification: dense [H, H] then out_proj
  LinearW qa;                     // [2, H]
  LinearW lm_transform;           // [H, H]
  LayerNormW lm_norm;
  const float* lm_decoder = nullptr;   // [V, H] (tied: the word embeddings)
  const float* lm_bias = nullptr;      // [V]
  LinearW seq_relationship;       // [2, H]
};

struct ModelWeights {
  EmbeddingW embeddings;
  std::vector<EncoderLayerW> layers;
  HeadW head;
};

// Resolves every pointer from the HF-named parameter views (names from parameter_specs). With
// `packed_encoder`, the encoder's Linear weights may be absent (a Model keeps them packed):
// their LinearW get null weights until prepare_weights.
ModelWeights bind_weights(const Config& cfg, const std::map<std::string, Tensor>& params,
                          bool packed_encoder = false);

// Scratch buffers of one forward pass, carved from one allocation sized for T tokens.
struct Activations {
  explicit Activations(int64_t tokens, const Config& cfg);
  Tensor arena;
  float *q, *k, *v, *ctx, *tmp, *ffn;   // [T, H] each; ffn [T, I]
};

// Attention over the packed batch for this config (heads, scale, position kind, offsets); q, k, v
// and ctx are [T, H] with row stride H (a fused QKV sets ld itself).
kernels::AttentionArgs attention_args(const Config& cfg, const Batch& batch, const float* q, const float* k,
                                      const float* v, float* ctx);

// x[T, H] = LayerNorm(word + position + token_type (+ task_type))
void embeddings_forward(const Config& cfg, const EmbeddingW& w, const Batch& batch, float* x);
// x[T, H] <- one post-LayerNorm Transformer layer applied to x.
void encoder_layer_forward(const Config& cfg, const EncoderLayerW& w, const Batch& batch, float* x,
                           Activations& act);
// Pooler and task head on the final hidden states x[T, H]; fills the head's fields of `out`.
void heads_forward(const Config& cfg, const HeadW& w, const Batch& batch, const float* x, Outputs& out);

}  // namespace ernie::model

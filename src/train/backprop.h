// Training blocks, llm.c style: each block's forward (saving what its backward needs) beside its
// backward, over the packed ragged batch. Shapes: T tokens, B sequences, H hidden, I
// intermediate, N labels. Weights are the model's views (model/layers.h); gradients are the same
// structs bound to the gradient buffer (every pointer there is writable: see grad()).
#pragma once
#include <cstdint>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/trainable.h"
#include "kernels/kernels.h"
#include "model/layers.h"

namespace ernie::train {

// Gradient structs reuse the weight structs; their pointers point into the gradient buffer,
// which the training engine owns and writes.
inline float* grad(const float* p) { return const_cast<float*>(p); }

// Dropout probabilities of a run and the key every mask derives from: the stream of a site in a
// forward pass is (micro_step << 12) | site, so masks repeat exactly in recompute and on resume.
struct Dropout {
  float hidden = 0, attention = 0, classifier = 0;
  uint64_t seed = 0, micro_step = 0;
  // Where this batch starts in the whole batch (a data-parallel shard): element indices are global,
  // so the masks do not depend on how the batch is split.
  int64_t first_row = 0, first_token = 0;
  kernels::DropoutKey key(uint64_t site) const { return {seed, (micro_step << 12) | site}; }
  uint64_t token_element(int64_t H) const { return static_cast<uint64_t>(first_token * H); }   // [T, H] sites
  uint64_t row_element(int64_t H) const { return static_cast<uint64_t>(first_row * H); }       // [B, H] sites
};
enum Site : uint64_t { kEmbeddings = 0, kHeadInput = 1, kHead = 2, kFirstLayer = 3 };   // layer l: 3 + 3l + {0,1,2}

// ---- embeddings ----------------------------------------------------------------------------
struct EmbeddingCache {
  float* sum;            // [T, H] word + position + type (+ task), LayerNorm's input
  float *mean, *rstd;    // [T]
};
// x[T, H] = dropout(LayerNorm(word[id] + position[pos] + type[type] (+ task[task])))
void embeddings_forward(const Config& cfg, const model::EmbeddingW& w, const Batch& batch, float* x,
                        EmbeddingCache& c, const Dropout& d);
// dx[T, H] (destroyed) -> gradients of the tables (word: rows of the batch's ids only) and LayerNorm.
void embeddings_backward(const Config& cfg, const model::EmbeddingW& w, const model::EmbeddingW& g,
                         const Batch& batch, float* dx, float* scratch, const EmbeddingCache& c, const Dropout& d);

// ---- encoder layer ---------------------------------------------------------------------------
struct LayerCache {
  float *q, *k, *v;      // [T, H]
  float* ctx;            // [T, H] attention output before W_o
  float* h1;             // [T, H] x + dropout(ctx W_o + b_o): LayerNorm 1's input
  float* a;              // [T, H] LayerNorm 1's output
  float *f_pre, *f;      // [T, I] a W_i + b_i, and act() of it
  float* h2;             // [T, H] a + dropout(f W_out + b_out): LayerNorm 2's input
  float *mean1, *rstd1, *mean2, *rstd2;   // [T]
};
struct LayerScratch {    // backward scratch, [T, H] each but df [T, I]
  float *dh, *da, *dctx, *dq, *dk, *dv, *df;
};
// out[T, H] = layer(x[T, H]) (post-LayerNorm BERT layer, dropout at transformers' three places).
void encoder_layer_forward(const Config& cfg, const model::EncoderLayerW& w, const Batch& batch, const float* x,
                           float* out, LayerCache& c, const Dropout& d, int64_t layer);
// dout[T, H] -> dx[T, H] and the layer's parameter gradients (accumulated).
void encoder_layer_backward(const Config& cfg, const model::EncoderLayerW& w, const model::EncoderLayerW& g,
                            const Batch& batch, const float* x, const LayerCache& c, float* dout, float* dx,
                            LayerScratch& s, const Dropout& d, int64_t layer);

// ---- heads + loss ----------------------------------------------------------------------------
struct HeadCache {
  float* first;          // [B, H] first token of each sequence (after input dropout: RoBERTa)
  float* pre;            // [B, H] pooler / RoBERTa dense before its activation
  float* pooled;         // [B, H] after activation and dropout (the classifier's input)
  float* tokens;         // [T, H] dropout(x) (token classification)
  float* logits;         // [B, N] or [T, N]
  float* dlogits;        // same shape
};
// Logits from the final hidden states x[T, H], then the loss and d(loss * scale)/dlogits
// (targets empty: logits only, loss 0).
double heads_forward(const Config& cfg, const model::HeadW& w, const Batch& batch, const float* x,
                     const Targets& t, HeadCache& c, const Dropout& d, float loss_scale);
// dlogits -> head gradients and dx[T, H] (overwritten: zero where the head does not read).
void heads_backward(const Config& cfg, const model::HeadW& w, const model::HeadW& g, const Batch& batch,
                    const HeadCache& c, float* dx, float* scratch, const Dropout& d);
// Rows of logits: B, or T for token classification.
int64_t logit_rows(const Config& cfg, const Batch& batch);

// ---- pre-training heads (lm_heads_train.cc) ---------------------------------------------------
// Sized per batch by its K masked tokens (the decoder's K x V logits dominate).
struct LmCache {
  std::vector<int64_t> rows;       // [K] packed token index of each masked token
  std::vector<int32_t> labels;     // [K]
  std::vector<float> x, pre, act, h;   // [K, H]: gathered input, transform before/after act, LayerNorm out
  std::vector<float> mean, rstd;   // [K]
  std::vector<float> logits, dlogits;  // [K, V]
  std::vector<float> pre_grad, x_grad; // backward scratch [K, H]
  std::vector<float> first, pooled_pre, pooled, nsp_logits, nsp_dlogits;   // ForPreTraining: [B, H], [B, 2]
  double sentence_loss = 0;
};
bool is_lm_head(const Config& cfg);   // MaskedLM or PreTraining
// Targets: labels [T] (-100: not predicted) and, for PreTraining, sentence_labels [B]. The masked
// tokens' gradients are scaled by loss_scale, the sentence loss's by sentence_scale.
double lm_heads_forward(const Config& cfg, const model::HeadW& w, const Batch& batch, const float* x, const Targets& t,
                        LmCache& c, float loss_scale, float sentence_scale);
// dx[T, H] overwritten: the masked rows' and (ForPreTraining) the first tokens' gradients.
void lm_heads_backward(const Config& cfg, const model::HeadW& w, const model::HeadW& g, const Batch& batch,
                       LmCache& c, float* dx);

}  // namespace ernie::train

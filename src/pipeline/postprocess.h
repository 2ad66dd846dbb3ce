// Task post-processing shared by the command line and the server: model outputs -> label
// probabilities and pooled sentence embeddings. Encodings become batches through
// ernie::pack_encodings (ernie/batch.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ernie/batch.h"
#include "ernie/model.h"

namespace ernie::pipeline {

// Softmax over the labels, or a sigmoid per label for multi_label_classification (transformers' rule).
std::vector<double> label_probabilities(const float* logits, int64_t n, bool multi_label);

enum class Pooling { Cls, Mean };
// Pooling ::= "cls" | "mean"; false if unknown.
bool parse_pooling(const std::string& name, Pooling* out);
const char* pooling_name(Pooling p);

// Sequence `row` of a forward pass: its first token's last hidden state (cls) or the mean of its
// tokens' last hidden states (mean, special tokens included, as sentence-transformers).
std::vector<float> pool_sequence(const Outputs& out, const Batch& batch, int64_t row, int64_t hidden, Pooling p);

// In place: v / ||v||_2 (unchanged when the norm is 0).
void l2_normalize(std::vector<float>& v);

}  // namespace ernie::pipeline

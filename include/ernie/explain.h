// `ernie config explain`: every field of a config in plain words (English or Chinese), with its
// value and default, then what follows from it: parameter counts, weight memory, compute, the
// longest input. The field descriptions come from the same table as parsing and docs/CONFIG.md.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ernie/config.h"

namespace ernie {

// Numbers derived from a config (its head included, as parameter_specs builds it).
struct ConfigFacts {
  std::string class_name;  // architectures[0], else e.g. "ErnieForSequenceClassification"
  int64_t params_embeddings = 0, params_encoder = 0, params_pooler = 0, params_head = 0, params_total = 0;
  int64_t bytes_fp32 = 0, bytes_bf16 = 0, bytes_int8 = 0;  // weight memory
  int64_t seq_len = 0;
  // Forward FLOPs (multiply-add = 2): 2 × weights of the matmuls every token goes through, plus
  // attention's 4 × seq_len × hidden_size per layer (scores and weighted sum).
  int64_t matmul_flops_per_token = 0, attention_flops_per_token = 0, flops_per_token = 0;
  // seq_len tokens, plus the pooler/classifier that run once per sequence.
  int64_t flops_per_sequence = 0;
  int64_t max_sequence_length = 0;
};

ConfigFacts config_facts(const Config& cfg, int64_t seq_len);

// "99,878,413"
std::string format_count(int64_t n);

// lang: "en" or "zh" (anything else throws ernie::Error). seq_len: for the compute estimate.
std::string explain_config(const Config& cfg, const std::string& lang, int64_t seq_len);
// The same as data: fields (value, default, in_file, role) and the derived numbers.
nlohmann::json explain_config_json(const Config& cfg, int64_t seq_len);

// One line for `ernie config validate`: "ernie (PaddleNLP), ErnieForSequenceClassification, 13 labels, ..."
std::string config_summary(const Config& cfg);

// The key reference tables of docs/CONFIG.md (Markdown), generated from the field table.
std::string config_reference_markdown();

}  // namespace ernie

// Configs of the BART family of encoder-decoders (transformers' bart, mbart, marian, pegasus,
// blenderbot, blenderbot-small): read, validated and explained, never run. This engine runs
// ERNIE/BERT/RoBERTa encoders (include/ernie/config.h); these types share the `config explain`,
// `config validate` and `config doctor` commands only, so that a user holding a BART config (and
// an AttributeError about one of its legacy keys) gets the same answers as for an ERNIE config.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ernie/config.h"

namespace ernie {

enum class Seq2SeqType { Bart, MBart, Marian, Pegasus, Blenderbot, BlenderbotSmall };

const char* to_string(Seq2SeqType t);        // model_type: "bart", ..., "blenderbot-small"
const char* config_class(Seq2SeqType t);     // "BartConfig", ..., "BlenderbotSmallConfig"
const char* generation_class(Seq2SeqType t); // "BartForConditionalGeneration", "MarianMTModel", ...
bool seq2seq_type_from_string(const std::string& model_type, Seq2SeqType* out);
// The family a document belongs to: its model_type, or (without one) the prefix of
// architectures[0] ("MarianMTModel", "BartForConditionalGeneration"). nullopt for other models.
std::optional<Seq2SeqType> seq2seq_type_of(const nlohmann::json& doc);
// The same for the config at `path` (a file, or a model folder's config.json); syntax errors and
// missing files are thrown as load_config throws them.
std::optional<Seq2SeqType> seq2seq_type_of_file(const std::filesystem::path& path);

// What transformers' own class builds for a type (the v4 classes, split per model in v4.2.0);
// the legacy switches of one shared BartConfig (v2.9-v4.1) described the same choices.
struct Seq2SeqLayout {
  bool sinusoidal_positions;  // fixed sin/cos table, not trained (Marian, Pegasus)
  int64_t position_offset;    // learned table has max_position_embeddings + offset rows (BART, mBART: 2)
  bool pre_layer_norm;        // LayerNorm before attention/FFN (mBART, Pegasus, Blenderbot)
  bool layernorm_embedding;   // LayerNorm right after the embeddings (BART, mBART, Blenderbot-small)
  bool final_layer_norm;      // LayerNorm after the last encoder and decoder layer (mBART, Pegasus, Blenderbot)
};
Seq2SeqLayout seq2seq_layout(Seq2SeqType t);

struct Seq2SeqConfig {
  Seq2SeqType type = Seq2SeqType::Bart;
  int64_t vocab_size = 50265;
  int64_t d_model = 1024;
  int64_t encoder_layers = 12, decoder_layers = 12;
  int64_t encoder_attention_heads = 16, decoder_attention_heads = 16;
  int64_t encoder_ffn_dim = 4096, decoder_ffn_dim = 4096;
  int64_t max_position_embeddings = 1024;
  std::string activation_function = "gelu";
  double dropout = 0.1, attention_dropout = 0.0, activation_dropout = 0.0, classifier_dropout = 0.0;
  double encoder_layerdrop = 0.0, decoder_layerdrop = 0.0;
  double init_std = 0.02;
  bool scale_embedding = false;          // token embeddings × sqrt(d_model)
  bool tie_word_embeddings = true;       // lm_head shares the (decoder) token embeddings
  bool share_encoder_decoder_embeddings = true;  // Marian: false gives the decoder its own table
  std::optional<int64_t> decoder_vocab_size;     // Marian: rows of that table (default vocab_size)
  std::optional<int64_t> pad_token_id, bos_token_id, eos_token_id, decoder_start_token_id;

  // The document as read; unknown keys are kept and listed.
  nlohmann::json original = nlohmann::json::object();
  std::vector<std::string> unknown_keys;

  int64_t target_vocab_size() const { return decoder_vocab_size.value_or(vocab_size); }
  // Longest input either side accepts: the rows of the position table (less BART's offset).
  int64_t max_sequence_length() const { return max_position_embeddings; }
};

// Reads the document of a BART-family config (the model_type must be one of the family).
// Problems are collected as for ERNIE configs: every error at once in a ConfigError, naming the
// key; warnings (unknown keys, legacy switches that contradict the type) go to *warnings.
Seq2SeqConfig parse_seq2seq_config_json(const nlohmann::json& doc, const ConfigOptions& opts = {},
                                        std::vector<ConfigDiagnostic>* warnings = nullptr);
Seq2SeqConfig load_seq2seq_config(const std::filesystem::path& path, const ConfigOptions& opts = {},
                                  std::vector<ConfigDiagnostic>* warnings = nullptr);
std::vector<ConfigDiagnostic> validate_seq2seq_config(const Seq2SeqConfig& cfg);

// Parameter counts of the matching *ForConditionalGeneration as transformers builds it:
// token embeddings shared by encoder, decoder and (tied) lm_head are counted once; learned
// position tables have max_position_embeddings + offset rows; sinusoidal tables are parameters
// that are not trained (model.num_parameters() counts them, only_trainable=True does not);
// final_logits_bias is a buffer (saved, never counted).
struct Seq2SeqFacts {
  std::string class_name;
  int64_t shared_embeddings = 0;      // model.shared (encoder/decoder embed_tokens, tied lm_head)
  int64_t decoder_embeddings = 0;     // Marian with unshared embeddings: the decoder's own table
  int64_t encoder_positions = 0, decoder_positions = 0;
  int64_t encoder_layers = 0, decoder_layers = 0;  // all layers of each side
  int64_t encoder_norms = 0, decoder_norms = 0;    // layernorm_embedding and final layer_norm
  int64_t lm_head = 0;                // 0 when tied
  int64_t total = 0;                  // model.num_parameters()
  int64_t trainable = 0;              // model.num_parameters(only_trainable=True)
  int64_t final_logits_bias = 0;      // buffer: values, not parameters
  int64_t bytes_fp32 = 0, bytes_bf16 = 0;
  int64_t max_sequence_length = 0;
  // Forward FLOPs per token at seq_len (multiply-add = 2): 2 × the matmul weights a token passes,
  // plus attention's 4 × seq_len × d_model per attention block (decoder: self and cross, full
  // context); the decoder's share includes the lm_head projection onto the vocabulary.
  int64_t seq_len = 0;
  int64_t encoder_flops_per_token = 0, decoder_flops_per_token = 0;
};
Seq2SeqFacts seq2seq_facts(const Seq2SeqConfig& cfg, int64_t seq_len);

// `ernie config explain` for the family (lang "en" or "zh"), its JSON form, and the one line of
// `ernie config validate`.
std::string explain_seq2seq_config(const Seq2SeqConfig& cfg, const std::string& lang, int64_t seq_len);
nlohmann::json explain_seq2seq_config_json(const Seq2SeqConfig& cfg, int64_t seq_len);
std::string seq2seq_summary(const Seq2SeqConfig& cfg);

}  // namespace ernie

// Model configuration: the fields of Hugging Face BertConfig/ErnieConfig/RobertaConfig and of
// PaddleNLP's ErnieConfig, with each source's own defaults, legacy aliases, validation and
// a round-trip that keeps unknown keys. Every optional field has a documented default, so no
// code path can fail on a missing attribute.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ernie {

enum class ModelType { Ernie, Bert, Roberta };
enum class ConfigSource { HuggingFace, PaddleNLP };

// Activations with Hugging Face's meanings (transformers.activations.ACT2FN).
enum class Activation {
  Relu,       // max(0, x)
  Gelu,       // x * Phi(x), exact erf form ("gelu")
  GeluNew,    // tanh approximation ("gelu_new", "gelu_pytorch_tanh")
  GeluFast,   // tanh approximation, constants folded ("gelu_fast")
  QuickGelu,  // x * sigmoid(1.702 x)
  Silu,       // x * sigmoid(x) ("silu", "swish")
  Tanh,
  Sigmoid,
  Linear,     // identity
};

// How positions enter the model.
enum class PositionKind {
  Absolute,          // learned table, added to the embeddings (BERT/ERNIE; RoBERTa with offset ids)
  Sinusoidal,        // fixed sin/cos table (static_position_embeddings: true), not trained
  RelativeKey,       // HF position_embedding_type "relative_key": distance embeddings in attention
  RelativeKeyQuery,  // HF "relative_key_query"
};

// Which task head sits on the encoder; taken from `architectures[0]`'s suffix.
enum class Head {
  Base,                    // ...Model: last_hidden_state + pooler_output
  SequenceClassification,  // pooler -> classifier (RoBERTa: dense+tanh+out_proj on token 0)
  TokenClassification,     // classifier on every token
  QuestionAnswering,       // qa_outputs -> start/end logits (PaddleNLP: `classifier` [2])
  MaskedLM,                // transform + tied decoder
  MultipleChoice,          // pooler -> classifier [1], logits reshaped to [B, choices]
  PreTraining,             // MaskedLM logits + next-sentence logits
};

const char* to_string(ModelType t);
const char* class_prefix(ModelType t);   // "Ernie", "Bert", "Roberta" (transformers class names)
const char* to_string(ConfigSource s);
const char* to_string(Activation a);     // canonical HF name
const char* to_string(PositionKind p);   // "absolute", "sinusoidal", "relative_key", ...
const char* to_string(Head h);           // suffix: "Model", "ForSequenceClassification", ...
// Accepts every HF alias ("swish", "gelu_pytorch_tanh", ...); false if unknown.
bool activation_from_string(const std::string& name, Activation* out);
std::vector<std::string> supported_activations();

struct Config {
  ConfigSource source = ConfigSource::HuggingFace;
  ModelType model_type = ModelType::Ernie;

  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  Activation hidden_act = Activation::Gelu;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::optional<double> classifier_dropout;   // unset: heads use hidden_dropout_prob
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::optional<int64_t> bos_token_id, eos_token_id;
  PositionKind position_kind = PositionKind::Absolute;

  // ERNIE task embeddings (ERNIE 2.0/3.0): added when use_task_id; ids default to task_id.
  bool use_task_id = false;
  int64_t task_type_vocab_size = 3;
  int64_t task_id = 0;

  Activation pool_act = Activation::Tanh;  // PaddleNLP's key; see pooler_activation()
  bool tie_word_embeddings = true;

  // Training-time switches (inert for inference; honoured by training).
  bool fuse = false;
  bool enable_recompute = false;

  std::vector<std::string> architectures;   // e.g. {"ErnieForSequenceClassification"}
  std::vector<std::string> id2label;        // index -> name; size() is num_labels (HF default: 2)
  bool labels_given = false;                // id2label/label2id/num_labels/num_classes in the file
  std::string problem_type;                 // "", single_label_classification, ...

  // The document as read (unknown keys included), so that saving writes them back unchanged.
  nlohmann::json original = nlohmann::json::object();
  std::vector<std::string> unknown_keys;

  int64_t num_labels() const { return static_cast<int64_t>(id2label.size()); }
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // From architectures[0]'s suffix; without architectures: SequenceClassification when the file
  // gives labels, else Base.
  Head head() const;
  std::string base_prefix() const;          // "ernie", "bert" or "roberta"
  // transformers class for this family and head: architectures[0], else e.g. "ErnieForSequenceClassification".
  std::string class_name() const;
  // First position id of a sequence: pad_token_id + 1 for RoBERTa, else 0.
  int64_t position_offset() const;
  // What the pooler applies: tanh, except that PaddleNLP's BERT/RoBERTa poolers apply nothing when
  // pool_act is not tanh (PaddleNLP's ERNIE pooler and transformers' poolers ignore pool_act).
  Activation pooler_activation() const;
  // Longest input (tokens, specials included) the position table allows.
  int64_t max_sequence_length() const;
};

struct ConfigDiagnostic {
  std::string field;     // the key it is about ("" for the whole document)
  std::string message;   // one line: "hidden_size (100) must be divisible by num_attention_heads (12)"
  bool is_error = true;  // false: a warning (unknown key, deprecated alias)
};

struct ConfigOptions {
  bool strict = false;                      // unknown keys become errors
  std::optional<ConfigSource> source;       // force HF or PaddleNLP defaults
};

// Thrown with every error found (not just the first); what() joins them with newlines.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigDiagnostic> diags);
  const std::vector<ConfigDiagnostic>& diagnostics() const { return diags_; }
 private:
  std::vector<ConfigDiagnostic> diags_;
};

// Parse a JSON text (syntax errors report line and column). Warnings go to *warnings.
Config parse_config(const std::string& text, const ConfigOptions& opts = {},
                    std::vector<ConfigDiagnostic>* warnings = nullptr);
Config parse_config_json(const nlohmann::json& doc, const ConfigOptions& opts = {},
                         std::vector<ConfigDiagnostic>* warnings = nullptr);
// Reads a file or a model folder (config.json, else model_config.json with init_args).
Config load_config(const std::filesystem::path& path, const ConfigOptions& opts = {},
                   std::vector<ConfigDiagnostic>* warnings = nullptr);

// The config as JSON in the target ecosystem's spelling; unknown keys are written back unchanged.
nlohmann::json config_to_json(const Config& cfg, ConfigSource target = ConfigSource::HuggingFace);
void save_config(const Config& cfg, const std::filesystem::path& file,
                 ConfigSource target = ConfigSource::HuggingFace);  // atomic write

// transformers' names for unnamed labels, "LABEL_0" .. "LABEL_{n-1}"; a config without labels has
// kDefaultNumLabels of them (transformers' and PaddleNLP's num_labels default).
inline constexpr int64_t kDefaultNumLabels = 2;
std::vector<std::string> numbered_labels(int64_t n);

// Semantic checks on an already-parsed config (parse_config runs these too).
std::vector<ConfigDiagnostic> validate_config(const Config& cfg);

// The task head named by an architecture class ("ErnieForSequenceClassification" -> SequenceClassification,
// "BertModel" -> Base; PaddleNLP's "ErnieForPretraining" spelling too). False if unknown.
bool head_from_architecture(const std::string& architecture, Head* out);
// Which ecosystem wrote `doc`: transformers_version -> HF; paddlenlp_version (even null), init_args,
// init_class, pool_act, enable_recompute, fuse or task_id -> PaddleNLP; otherwise HF. `reason` says why.
ConfigSource detect_config_source(const nlohmann::json& doc, std::string* reason = nullptr);

}  // namespace ernie

// libFuzzer target: a config document (transformers' or PaddleNLP's ERNIE/BERT/RoBERTa, or the BART
// family) through parsing, validation, the explanation, `config doctor` (with and without an
// AttributeError to explain) and the write-back in both spellings.
// Bad documents must end in ConfigError or ernie::Error; anything else escaping is a finding,
// and so is a written config that reads back as a different model.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "ernie/config.h"
#include "ernie/doctor.h"
#include "ernie/error.h"
#include "ernie/explain.h"
#include "ernie/seq2seq_config.h"

namespace {

// Every field the engine acts on (the rest of the document travels in `original`).
void check_same_model(const ernie::Config& a, const ernie::Config& b) {
  FUZZ_CHECK(a.model_type == b.model_type && a.vocab_size == b.vocab_size && a.hidden_size == b.hidden_size);
  FUZZ_CHECK(a.num_hidden_layers == b.num_hidden_layers && a.num_attention_heads == b.num_attention_heads);
  FUZZ_CHECK(a.intermediate_size == b.intermediate_size && a.hidden_act == b.hidden_act);
  FUZZ_CHECK(a.max_position_embeddings == b.max_position_embeddings && a.type_vocab_size == b.type_vocab_size);
  FUZZ_CHECK(a.layer_norm_eps == b.layer_norm_eps && a.initializer_range == b.initializer_range);
  FUZZ_CHECK(a.hidden_dropout_prob == b.hidden_dropout_prob &&
             a.attention_probs_dropout_prob == b.attention_probs_dropout_prob && a.classifier_dropout == b.classifier_dropout);
  FUZZ_CHECK(a.pad_token_id == b.pad_token_id && a.position_kind == b.position_kind);
  FUZZ_CHECK(a.use_task_id == b.use_task_id && a.task_type_vocab_size == b.task_type_vocab_size && a.task_id == b.task_id);
  FUZZ_CHECK(a.pooler_activation() == b.pooler_activation() && a.tie_word_embeddings == b.tie_word_embeddings);
  FUZZ_CHECK(a.fuse == b.fuse && a.enable_recompute == b.enable_recompute);
  FUZZ_CHECK(a.head() == b.head());
  FUZZ_CHECK(a.id2label == b.id2label);
  FUZZ_CHECK(a.problem_type == b.problem_type);
}

// Runs f: a refusal (ConfigError or ernie::Error) is the right answer to a bad document and gives
// false; anything else escaping is a finding.
template <class F>
bool accepted(F&& f) {
  try {
    f();
    return true;
  } catch (const ernie::ConfigError&) {
  } catch (const ernie::Error&) {
  }
  return false;
}

void config_paths(const std::string& text, uint8_t mode) {
  ernie::ConfigOptions o;
  o.strict = mode & 1;
  if (mode & 2) o.source = (mode & 4) ? ernie::ConfigSource::PaddleNLP : ernie::ConfigSource::HuggingFace;
  ernie::Config cfg;
  if (!accepted([&] { cfg = ernie::parse_config(text, o); })) return;
  (void)ernie::validate_config(cfg);
  const int64_t seq_len = 1 + (mode >> 3);
  (void)ernie::config_facts(cfg, seq_len);
  (void)ernie::explain_config(cfg, (mode & 8) ? "zh" : "en", seq_len);
  (void)ernie::explain_config_json(cfg, seq_len).dump();
  (void)ernie::config_summary(cfg);
  for (const auto target : {ernie::ConfigSource::HuggingFace, ernie::ConfigSource::PaddleNLP}) {
    // What the engine writes it must read: any exception here escapes as a finding.
    const ernie::Config back = ernie::parse_config(ernie::config_to_json(cfg, target).dump());
    check_same_model(cfg, back);
  }
}

void seq2seq_paths(const std::string& text, uint8_t mode) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return;
  accepted([&] {
    if (!ernie::seq2seq_type_of(doc)) return;
    ernie::ConfigOptions o;
    o.strict = mode & 1;
    const ernie::Seq2SeqConfig cfg = ernie::parse_seq2seq_config_json(doc, o);
    (void)ernie::validate_seq2seq_config(cfg);
    const int64_t seq_len = 1 + (mode >> 3);
    (void)ernie::seq2seq_facts(cfg, seq_len);
    (void)ernie::explain_seq2seq_config(cfg, (mode & 8) ? "zh" : "en", seq_len);
    (void)ernie::explain_seq2seq_config_json(cfg, seq_len).dump();
    (void)ernie::seq2seq_summary(cfg);
  });
}

// `ernie config doctor` reads a file: the document goes through an in-memory one.
void doctor_paths(const std::string& text, uint8_t mode) {
  const std::string path = memory_file(text);
  if (path.empty()) return;
  const char* attrs[] = {"", "static_position_embeddings", "vocab_size",
                         "AttributeError: 'BartConfig' object has no attribute 'normalize_before'"};
  accepted([&] { (void)ernie::doctor_config(path, attrs[(mode >> 5) & 3], (mode & 8) ? "zh" : "en"); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  config_paths(text, data[0]);
  seq2seq_paths(text, data[0]);
  if (data[0] & 16) doctor_paths(text, data[0]);
  return 0;
}

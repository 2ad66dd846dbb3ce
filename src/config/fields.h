// The one table of config keys: type, defaults per ecosystem (and model family), where the value
// lives in Config, and an English and a Chinese description. Parsing, saving, `config explain`
// and docs/CONFIG.md all read it, so a key is described in exactly one place.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ernie/config.h"

namespace ernie::config_detail {

enum class FieldType {
  Int,         // JSON integer (768.0 accepted)
  Float,       // any JSON number
  Bool,
  String,
  Activation,  // a string accepted by activation_from_string
  OptInt,      // integer or null
  OptFloat,    // number or null
  StringList,  // array of strings
  Object,      // JSON object
  Any,         // not type-checked (inert keys)
};

// Short names for the key tables (fields.cc, seq2seq_fields.cc): `using namespace field_types;`.
namespace field_types {
constexpr auto I = FieldType::Int;
constexpr auto F = FieldType::Float;
constexpr auto B = FieldType::Bool;
constexpr auto S = FieldType::String;
constexpr auto A = FieldType::Activation;
constexpr auto OI = FieldType::OptInt;
constexpr auto OF = FieldType::OptFloat;
constexpr auto L = FieldType::StringList;
constexpr auto O = FieldType::Object;
constexpr auto X = FieldType::Any;
}  // namespace field_types

enum class FieldRole {
  Honoured,    // changes the model
  Alias,       // legacy spelling of another key (alias_of)
  Inert,       // accepted and kept, but does not change inference
  Provenance,  // which library/version wrote the file
};

// Which ecosystem's files carry the key (HF: transformers only; Paddle: PaddleNLP only).
enum class Ecosystem { Both, HF, Paddle };

using Member = std::variant<std::monostate, int64_t Config::*, double Config::*, bool Config::*,
                            Activation Config::*, std::optional<int64_t> Config::*,
                            std::optional<double> Config::*, std::string Config::*>;

struct FieldSpec {
  const char* key;
  FieldType type;
  FieldRole role;
  Ecosystem eco;
  nlohmann::json hf_default;      // null: no default (unset)
  nlohmann::json paddle_default;
  Member member;                  // monostate: parsed by custom code (or inert)
  bool important;                 // `config explain` lists it even when defaulted
  const char* en;                 // may hold {key} placeholders, filled with values by explain
  const char* zh;
  const char* alias_of = nullptr; // for FieldRole::Alias
  const char* group = nullptr;    // docs print keys of one group in a single row
};

const std::vector<FieldSpec>& field_table();
const FieldSpec* find_field(const std::string& key);

// The entry of a key table (one table per entry type) with that key, or nullptr.
template <typename Field>
const Field* find_by_key(const std::vector<Field>& table, const std::string& key) {
  static const std::map<std::string, const Field*> index = [&table] {
    std::map<std::string, const Field*> m;
    for (const auto& f : table) m[f.key] = &f;
    return m;
  }();
  auto it = index.find(key);
  return it == index.end() ? nullptr : it->second;
}

// The default of `f` for a file from `source` describing a `type` model (family overrides included,
// e.g. RoBERTa's pad_token_id 1 in transformers).
nlohmann::json field_default(const FieldSpec& f, ConfigSource source, ModelType type);
// "30522 (roberta: 50265)" for the docs column of one ecosystem.
std::string default_summary(const FieldSpec& f, ConfigSource source);

// The current value of a field as JSON (null when unset); custom fields resolved too.
nlohmann::json field_value(const Config& cfg, const FieldSpec& f);

// A description with {key} placeholders replaced by the config's values (cfg == nullptr: by the
// key name itself, for the docs). Text inside [[...]] appears only with a config.
std::string fill_placeholders(const std::string& text, const Config* cfg);

// Short display of a JSON value: strings unquoted, numbers as JSON writes them.
std::string show_value(const nlohmann::json& v);

}  // namespace ernie::config_detail

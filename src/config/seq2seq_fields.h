// The key table of BART-family configs: type, default per model type (as transformers' own config
// class sets it; legacy switches: as the type's v3 config wrote it), role, and an English and a
// Chinese description. Parsing, `config explain` and `config doctor` read it. Generic keys the
// family shares with ERNIE configs (provenance, runtime flags) fall back to the ERNIE table.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/fields.h"
#include "ernie/seq2seq_config.h"

namespace ernie::config_detail {

enum class Seq2SeqRole {
  Shape,       // sizes and layout: changes the weights
  Training,    // dropout, layer drop, initialization: training only
  Token,       // special token ids
  Labels,      // classification labels (…ForSequenceClassification)
  Generation,  // read by generate()
  Legacy,      // BartConfig switch of v2.9-v4.1; transformers >= 4.2 decides by model_type
  Inert,       // kept, changes nothing
  Provenance,  // who wrote the file
};

struct Seq2SeqField {
  const char* key;
  FieldType type;
  Seq2SeqRole role;
  nlohmann::json def;  // BartConfig's default (null: unset); per-type overrides in seq2seq_default
  bool important;      // `config explain` lists it even when the file leaves it out
  const char* en;
  const char* zh;
};

const std::vector<Seq2SeqField>& seq2seq_field_table();
// The family's own entry for `key`, or nullptr.
const Seq2SeqField* find_seq2seq_field(const std::string& key);
// The default of `f` for a `type` config (legacy switches: the value that type's v3 config wrote).
nlohmann::json seq2seq_default(const Seq2SeqField& f, Seq2SeqType type);

// How a key of a BART-family file is described: the family's table, else an inert or informational
// key of the ERNIE table (same meaning in every transformers config). known == false: unknown key.
struct Seq2SeqKeyText {
  bool known = false;
  Seq2SeqRole role = Seq2SeqRole::Inert;
  std::string en, zh;
};
Seq2SeqKeyText seq2seq_key_text(const std::string& key);
// Every key the family's reader knows (for "did you mean").
const std::vector<std::string>& seq2seq_known_keys();

// The transformers history of a legacy switch in one paragraph (doctor.cc); "" for other keys.
std::string legacy_switch_history(const std::string& key, bool zh);

}  // namespace ernie::config_detail

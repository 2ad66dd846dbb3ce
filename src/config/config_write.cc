// Writing configs in either ecosystem's spelling (see config_to_json in include/ernie/config.h and
// docs/CONFIG.md "Saving").
#include "config/fields.h"
#include "ernie/atomic_file.h"
#include "ernie/config.h"

namespace ernie {

using json = nlohmann::json;
using namespace config_detail;
namespace fs = std::filesystem;

// ---- writing -----------------------------------------------------------------------------------

namespace {

bool written_by(Ecosystem eco, ConfigSource target) {
  return eco == Ecosystem::Both || (eco == Ecosystem::HF) == (target == ConfigSource::HuggingFace);
}

// Keys every file carries (as transformers writes them), and keys whose default differs between
// the ecosystems (so that the file reads the same whichever way it is detected).
bool always_written(const FieldSpec& f, const Config& c) {
  if (f.role != FieldRole::Honoured || f.eco != Ecosystem::Both) return false;
  const std::string k = f.key;
  if (k == "model_type") return true;
  if (f.type == FieldType::Int || f.type == FieldType::Float || f.type == FieldType::Activation) return true;
  return field_default(f, ConfigSource::HuggingFace, c.model_type) !=
         field_default(f, ConfigSource::PaddleNLP, c.model_type);
}

}  // namespace

json config_to_json(const Config& c, ConfigSource target) {
  const json orig = c.original.is_object() ? c.original : json::object();
  json out = json::object();

  // Unknown keys, and inert/provenance keys the file had, go back unchanged; the other ecosystem's
  // version stamp is dropped and torch_dtype is spelled dtype for PaddleNLP.
  for (const auto& [k, v] : orig.items()) {
    const FieldSpec* f = find_field(k);
    if (!f) {
      out[k] = v;
      continue;
    }
    const bool custom_inert = (f->role == FieldRole::Inert || f->role == FieldRole::Provenance) &&
                              std::holds_alternative<std::monostate>(f->member);
    if (!custom_inert) continue;
    if (f->role == FieldRole::Provenance && !written_by(f->eco, target)) continue;
    if (k == "torch_dtype" && target == ConfigSource::PaddleNLP) {
      if (!orig.contains("dtype")) out["dtype"] = v;
      continue;
    }
    out[k] = v;
  }
  if (target == ConfigSource::PaddleNLP && !out.contains("paddlenlp_version"))
    out["paddlenlp_version"] = nullptr;  // marks the file as PaddleNLP's, so its defaults apply on reading

  for (const auto& f : field_table()) {
    if (f.role != FieldRole::Honoured && std::holds_alternative<std::monostate>(f.member)) continue;
    if (f.role == FieldRole::Alias) continue;  // written under the canonical key
    const std::string k = f.key;
    json value = field_value(c, f);
    const json def = field_default(f, target, c.model_type);
    bool in_file = orig.contains(k);
    if (k == "classifier_dropout") in_file = in_file || orig.contains("dropout");
    if (k == "num_labels") continue;  // id2label/label2id carry it
    // Labels only when the config has them: without architectures, labels make a reader build a
    // classifier (Config::head), so writing the default two would turn a base model into one.
    if (k == "id2label" || k == "label2id") {
      if (c.labels_given || c.id2label != numbered_labels(kDefaultNumLabels)) out[k] = value;
      continue;
    }
    if (k == "pruned_heads" || k == "is_decoder" || k == "add_cross_attention") {
      if (in_file) out[k] = orig[k];
      continue;
    }
    bool write;
    if (!written_by(f.eco, target))
      write = value != def;  // the other ecosystem's key: only when it changes something
    else
      write = in_file || value != def || always_written(f, c);
    if (!write || (value.is_null() && !in_file)) continue;
    // Keep the file's spelling of an activation ("swish" stays "swish").
    if (f.type == FieldType::Activation && in_file && orig[k].is_string()) {
      Activation a, b;
      if (activation_from_string(orig[k].get<std::string>(), &a) && activation_from_string(value.get<std::string>(), &b) && a == b)
        value = orig[k];
    }
    out[k] = value;
  }
  return out;
}

void save_config(const Config& cfg, const fs::path& file, ConfigSource target) {
  write_file_atomic(file, config_to_json(cfg, target).dump(2) + "\n");
}

}  // namespace ernie

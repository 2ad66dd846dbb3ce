// Reading and validating model configs (see include/ernie/config.h and docs/CONFIG.md); writing is in
// config_write.cc, the JSON helpers shared with the BART-family reader in json_util.cc.
//
// Reading goes: JSON text -> (old model_config.json: flatten init_args) -> detect the ecosystem ->
// settle model_type -> fill every field with that ecosystem's default -> read each key of the file
// through the field table -> validate. Every problem becomes one ConfigDiagnostic; errors are
// thrown together at the end, warnings are handed back.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "config/fields.h"
#include "config/json_util.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/seq2seq_config.h"

namespace ernie {

using json = nlohmann::json;
using namespace config_detail;
namespace fs = std::filesystem;

namespace {

std::string join_messages(const std::vector<ConfigDiagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += (s.empty() ? "" : "\n") + d.message;
  return s.empty() ? "invalid config" : s;
}

// The known key closest to `key`, if close enough to be a typo.
std::string suggest_key(const std::string& key) {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : field_table()) k.push_back(f.key);
    return k;
  }();
  return closest_name(key, keys);
}

// ---- reading -----------------------------------------------------------------------------------

// Old PaddleNLP model_config.json: {"init_args": [{...config...}], "init_class": "...", ...}.
// The first dict's keys become top-level keys unless already there; init_class -> architectures.
json flatten_legacy(const json& doc, Diags& d) {
  json flat = doc;
  if (flat.contains("init_args")) {
    const json args = flat["init_args"];
    flat.erase("init_args");
    if (!args.is_array()) {
      d.error("init_args", "init_args must be a list whose first element is the config, got " +
                               describe_json(args));
    } else {
      size_t positional = 0;
      for (const auto& a : args) {
        if (!a.is_object()) {
          ++positional;
          continue;
        }
        for (const auto& [k, v] : a.items())
          if (!flat.contains(k)) flat[k] = v;
      }
      if (positional)
        d.warn("init_args", "init_args has " + std::to_string(positional) +
                                " element(s) that are not a config dict; ignored");
    }
  }
  if (const json* cls = get(flat, "init_class")) {
    if (!cls->is_string())
      d.error("init_class", type_error("init_class", FieldType::String, *cls));
    else if (!flat.contains("architectures") || flat["architectures"].is_null())
      flat["architectures"] = json::array({*cls});
  }
  return flat;
}

ModelType infer_model_type(const json& flat, ConfigSource source) {
  if (const json* arch = get(flat, "architectures")) {
    if (arch->is_array() && !arch->empty() && (*arch)[0].is_string()) {
      const std::string a = lower((*arch)[0].get<std::string>());
      if (a.rfind("roberta", 0) == 0) return ModelType::Roberta;
      if (a.rfind("ernie", 0) == 0) return ModelType::Ernie;
      if (a.rfind("bert", 0) == 0) return ModelType::Bert;
    }
  }
  if (source == ConfigSource::PaddleNLP) return ModelType::Ernie;
  if (flat.contains("use_task_id") || flat.contains("task_type_vocab_size")) return ModelType::Ernie;
  return ModelType::Bert;
}

ModelType read_model_type(const json& flat, ConfigSource source, Diags& d) {
  const json* v = get(flat, "model_type");
  if (!v) return infer_model_type(flat, source);
  if (!v->is_string()) return infer_model_type(flat, source);  // the type error is reported with the other keys
  const std::string name = v->get<std::string>();
  for (ModelType t : {ModelType::Ernie, ModelType::Bert, ModelType::Roberta})
    if (name == to_string(t)) return t;
  d.error("model_type", "unsupported model_type " + name + "; supported: bert, ernie, roberta");
  return infer_model_type(flat, source);
}

void apply_defaults(Config& c) {
  for (const auto& f : field_table()) {
    if (std::holds_alternative<std::monostate>(f.member)) continue;
    const json def = field_default(f, c.source, c.model_type);
    std::visit(
        [&](auto m) {
          using T = decltype(m);
          if constexpr (std::is_same_v<T, std::monostate>) {
          } else if constexpr (std::is_same_v<T, Activation Config::*>) {
            activation_from_string(def.get<std::string>(), &(c.*m));
          } else if constexpr (std::is_same_v<T, std::optional<int64_t> Config::*>) {
            c.*m = def.is_null() ? std::nullopt : std::optional<int64_t>(def.get<int64_t>());
          } else if constexpr (std::is_same_v<T, std::optional<double> Config::*>) {
            c.*m = def.is_null() ? std::nullopt : std::optional<double>(def.get<double>());
          } else if constexpr (std::is_same_v<T, std::string Config::*>) {
            c.*m = def.is_string() ? def.get<std::string>() : std::string();
          } else {
            using V = std::remove_reference_t<decltype(c.*m)>;
            c.*m = def.template get<V>();
          }
        },
        f.member);
  }
  c.id2label = numbered_labels(kDefaultNumLabels);
}

// One key stored straight in a Config member; the type was already checked.
void read_member(Config& c, const FieldSpec& f, const json& v, Diags& d) {
  std::visit(
      [&](auto m) {
        using T = decltype(m);
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, int64_t Config::*>) {
          read_int(v, &(c.*m));
        } else if constexpr (std::is_same_v<T, double Config::*>) {
          c.*m = v.get<double>();
        } else if constexpr (std::is_same_v<T, bool Config::*>) {
          c.*m = v.get<bool>();
        } else if constexpr (std::is_same_v<T, Activation Config::*>) {
          if (!activation_from_string(v.get<std::string>(), &(c.*m)))
            d.error(f.key, std::string(f.key) + " '" + v.get<std::string>() +
                               "' is not supported; supported: " + list_names(supported_activations()));
        } else if constexpr (std::is_same_v<T, std::optional<int64_t> Config::*>) {
          int64_t i = 0;
          c.*m = read_int(v, &i) ? std::optional<int64_t>(i) : std::nullopt;
        } else if constexpr (std::is_same_v<T, std::optional<double> Config::*>) {
          c.*m = v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
        } else if constexpr (std::is_same_v<T, std::string Config::*>) {
          c.*m = v.is_string() ? v.get<std::string>() : std::string();
        }
      },
      f.member);
}

void read_positions(Config& c, const json& flat, Diags& d) {
  const json* type = get(flat, "position_embedding_type");
  if (type && type->is_string()) {
    const std::string t = type->get<std::string>();
    if (t == "absolute") c.position_kind = PositionKind::Absolute;
    else if (t == "relative_key") c.position_kind = PositionKind::RelativeKey;
    else if (t == "relative_key_query") c.position_kind = PositionKind::RelativeKeyQuery;
    else
      d.error("position_embedding_type", "position_embedding_type '" + t +
                                             "' is not supported; supported: absolute, relative_key, "
                                             "relative_key_query");
  }
  const json* stat = get(flat, "static_position_embeddings");
  if (stat && stat->is_boolean() && stat->get<bool>()) {
    if (c.position_kind == PositionKind::Absolute)
      c.position_kind = PositionKind::Sinusoidal;
    else
      d.error("static_position_embeddings",
              std::string("static_position_embeddings is true but position_embedding_type is ") +
                  to_string(c.position_kind) + "; a sinusoidal table only replaces absolute positions");
  }
}

// Parses "0", "12" (no sign, no leading zeros other than "0") as a label index.
bool parse_index(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 12 || (s.size() > 1 && s[0] == '0')) return false;
  if (!std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) return false;
  *out = std::stoll(s);
  return true;
}

// Labels: id2label, else label2id inverted, else num_labels/num_classes (LABEL_i), else 2 labels.
void read_labels(Config& c, const json& flat, Diags& d) {
  const json* id2label = get(flat, "id2label");
  const json* label2id = get(flat, "label2id");
  const json* num_labels = get(flat, "num_labels");
  const json* num_classes = get(flat, "num_classes");
  c.labels_given = id2label || label2id || num_labels || num_classes;

  int64_t count = 0;  // from num_labels / num_classes when have_count
  bool have_count = false;
  std::string count_key = "num_labels";
  int64_t n = 0;
  if (num_labels && read_int(*num_labels, &n)) {
    count = n;
    have_count = true;
  }
  if (num_classes && read_int(*num_classes, &n)) {
    if (have_count && count != n)
      d.warn("num_classes", "num_classes (" + num(n) + ") and num_labels (" + num(count) +
                                ") disagree; using num_classes, as PaddleNLP does");
    count = n;
    have_count = true;
    count_key = "num_classes";
  }
  constexpr int64_t kMaxLabels = int64_t{1} << 24;  // beyond any real label set; guards the allocation
  if (have_count && (count < 1 || count > kMaxLabels)) {
    d.error(count_key, count_key + " must be in [1, " + num(kMaxLabels) + "], got " + num(count));
    have_count = false;
  }

  // The index -> name map from id2label (or inverted label2id); nullopt if absent or broken.
  auto index_map = [&](const json& obj, bool names_are_keys,
                       const std::string& key) -> std::optional<std::vector<std::string>> {
    std::map<int64_t, std::string> m;
    bool ok = true;
    for (const auto& [k, v] : obj.items()) {
      int64_t idx = 0;
      std::string name;
      if (names_are_keys) {
        name = k;
        if (!read_int(v, &idx) || idx < 0) {
          d.error(key, key + "['" + k + "'] must be a non-negative integer, got " + describe_json(v));
          ok = false;
          continue;
        }
      } else {
        if (!parse_index(k, &idx)) {
          d.error(key, key + " key '" + k + "' is not a label index (0, 1, 2, ...)");
          ok = false;
          continue;
        }
        if (!v.is_string()) {
          d.error(key, key + "['" + k + "'] must be a string, got " + describe_json(v));
          ok = false;
          continue;
        }
        name = v.get<std::string>();
      }
      if (m.count(idx)) {
        d.error(key, key + " gives index " + num(idx) + " twice ('" + m[idx] + "' and '" + name + "')");
        ok = false;
      }
      m[idx] = name;
    }
    if (!ok) return std::nullopt;
    std::vector<std::string> names;
    for (int64_t i = 0; i < static_cast<int64_t>(m.size()); ++i) {
      if (!m.count(i)) {
        d.error(key, key + " has no label for index " + num(i) + "; indices must be 0.." +
                         num(static_cast<int64_t>(m.size()) - 1));
        return std::nullopt;
      }
      names.push_back(m[i]);
    }
    if (names.empty()) {
      d.error(key, key + " is empty; give at least one label");
      return std::nullopt;
    }
    return names;
  };

  std::optional<std::vector<std::string>> names;
  std::string names_key;
  if (id2label && id2label->is_object()) {
    names = index_map(*id2label, false, "id2label");
    names_key = "id2label";
  } else if (!id2label && label2id && label2id->is_object()) {
    names = index_map(*label2id, true, "label2id");
    names_key = "label2id";
  }
  if (names) {
    c.id2label = *names;
    if (have_count && count != c.num_labels())
      d.error(count_key, count_key + " (" + num(count) + ") does not match " + names_key + ", which has " +
                             num(c.num_labels()) + " labels");
  } else if (have_count) {
    c.id2label = numbered_labels(count);
  }
}

// Keys whose value must be "off": this engine runs encoders only, unpruned.
void read_rejected(const json& flat, Diags& d) {
  for (const char* key : {"is_decoder", "add_cross_attention"}) {
    const json* v = get(flat, key);
    if (v && v->is_boolean() && v->get<bool>())
      d.error(key, std::string(key) + " is true: decoder/cross-attention not supported");
  }
  if (const json* v = get(flat, "pruned_heads")) {
    bool empty = true;
    if (v->is_object())
      for (const auto& [layer, heads] : v->items()) empty = empty && heads.is_array() && heads.empty();
    if (!empty) d.error("pruned_heads", "pruned_heads is not empty: pruned models are not supported");
  }
}

void read_document(Config& c, const json& flat, const ConfigOptions& opts, Diags& d) {
  for (const auto& [key, value] : flat.items()) {
    const FieldSpec* f = find_field(key);
    if (!f) {
      report_unknown_key(d, key, suggest_key(key), opts.strict);
      c.unknown_keys.push_back(key);
      continue;
    }
    if (value.is_null()) {
      const bool nullable = f->type == FieldType::Any || f->type == FieldType::OptInt ||
                            f->type == FieldType::OptFloat || f->type == FieldType::String ||
                            std::holds_alternative<std::monostate>(f->member);
      if (!nullable)
        d.warn(key, key + " is null; using the default " +
                        show_value(field_default(*f, c.source, c.model_type)));
      if (f->type == FieldType::OptInt || f->type == FieldType::OptFloat) read_member(c, *f, value, d);
      continue;
    }
    if (!type_matches(value, f->type)) {
      d.error(key, type_error(key, f->type, value));
      continue;
    }
    read_member(c, *f, value, d);
  }
  if (get(flat, "dropout") && get(flat, "classifier_dropout") && flat["dropout"] != flat["classifier_dropout"])
    d.warn("dropout", "dropout (" + flat["dropout"].dump() + ") and classifier_dropout (" +
                          flat["classifier_dropout"].dump() + ") disagree; using dropout, as PaddleNLP does");

  if (const json* arch = get(flat, "architectures"); arch && type_matches(*arch, FieldType::StringList))
    c.architectures = arch->get<std::vector<std::string>>();
  read_positions(c, flat, d);
  read_labels(c, flat, d);
  read_rejected(flat, d);
}

Config parse_named(const std::string& text, const std::string& name, const ConfigOptions& opts,
                   std::vector<ConfigDiagnostic>* warnings) {
  return parse_config_json(parse_config_document(text, name), opts, warnings);
}

bool both_given(const json& doc, const char* a, const char* b) { return get(doc, a) && get(doc, b); }

}  // namespace

// ---- Config ------------------------------------------------------------------------------------

std::vector<std::string> numbered_labels(int64_t n) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) names.push_back("LABEL_" + std::to_string(i));
  return names;
}

Head Config::head() const {
  Head h = Head::Base;
  if (!architectures.empty()) return head_from_architecture(architectures[0], &h) ? h : Head::Base;
  return labels_given ? Head::SequenceClassification : Head::Base;
}

std::string Config::base_prefix() const { return to_string(model_type); }

std::string Config::class_name() const {
  if (!architectures.empty()) return architectures[0];
  return std::string(class_prefix(model_type)) + to_string(head());
}

int64_t Config::position_offset() const { return model_type == ModelType::Roberta ? pad_token_id + 1 : 0; }

Activation Config::pooler_activation() const {
  const bool paddle_bert_like = source == ConfigSource::PaddleNLP && model_type != ModelType::Ernie;
  if (paddle_bert_like && pool_act != Activation::Tanh) return Activation::Linear;
  return Activation::Tanh;
}

int64_t Config::max_sequence_length() const {
  // Relative kinds bound distances |i - j| < max_position_embeddings, i.e. that many tokens.
  if (position_kind == PositionKind::RelativeKey || position_kind == PositionKind::RelativeKeyQuery)
    return max_position_embeddings;
  return max_position_embeddings - position_offset();
}

ConfigError::ConfigError(std::vector<ConfigDiagnostic> diags)
    : std::runtime_error(join_messages(diags)), diags_(std::move(diags)) {}

ConfigSource detect_config_source(const json& doc, std::string* reason) {
  auto because = [&](const std::string& r) {
    if (reason) *reason = r;
  };
  if (doc.is_object()) {
    if (doc.contains("transformers_version")) {
      because("key 'transformers_version'");
      return ConfigSource::HuggingFace;
    }
    for (const char* k : {"paddlenlp_version", "init_args", "init_class", "pool_act", "enable_recompute", "fuse",
                          "task_id"}) {
      if (doc.contains(k)) {
        because(std::string("key '") + k + "'");
        return ConfigSource::PaddleNLP;
      }
    }
  }
  because("no ecosystem marker");
  return ConfigSource::HuggingFace;
}

// ---- parsing -----------------------------------------------------------------------------------

Config parse_config_json(const json& doc, const ConfigOptions& opts, std::vector<ConfigDiagnostic>* warnings) {
  if (!doc.is_object()) throw ConfigError({{"", "a config must be a JSON object, got " + describe_json(doc)}});
  // One clear line for the BART family (read by seq2seq_config.cc), not a list of unknown keys.
  if (const auto s2s = seq2seq_type_of(doc))
    throw ConfigError({{"model_type", std::string("model_type ") + to_string(*s2s) +
                                          " is read and explained only (ernie config explain|validate|doctor); "
                                          "this engine runs ERNIE, BERT and RoBERTa encoders"}});
  Diags d;
  const json flat = flatten_legacy(doc, d);

  Config c;
  c.source = opts.source ? *opts.source : detect_config_source(doc);
  c.model_type = read_model_type(flat, c.source, d);
  apply_defaults(c);
  read_document(c, flat, opts, d);
  c.original = flat;
  for (auto& diag : validate_config(c)) d.add(std::move(diag));
  d.finish(warnings);
  return c;
}

Config parse_config(const std::string& text, const ConfigOptions& opts, std::vector<ConfigDiagnostic>* warnings) {
  return parse_named(text, "config.json", opts, warnings);
}

Config load_config(const fs::path& path, const ConfigOptions& opts, std::vector<ConfigDiagnostic>* warnings) {
  std::string name;
  const json doc = read_config_document(path, &name);
  return parse_config_json(doc, opts, warnings);
}

// ---- validation --------------------------------------------------------------------------------

std::vector<ConfigDiagnostic> validate_config(const Config& c) {
  Diags d;
  auto at_least_1 = [&](const char* key, int64_t v) {
    if (v < 1) d.error(key, std::string(key) + " must be at least 1, got " + num(v));
  };
  at_least_1("vocab_size", c.vocab_size);
  at_least_1("hidden_size", c.hidden_size);
  at_least_1("num_hidden_layers", c.num_hidden_layers);
  at_least_1("num_attention_heads", c.num_attention_heads);
  at_least_1("intermediate_size", c.intermediate_size);
  at_least_1("max_position_embeddings", c.max_position_embeddings);
  at_least_1("type_vocab_size", c.type_vocab_size);
  if (c.use_task_id) at_least_1("task_type_vocab_size", c.task_type_vocab_size);

  if (c.hidden_size > 0 && c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads != 0)
    d.error("hidden_size", "hidden_size (" + num(c.hidden_size) + ") must be divisible by num_attention_heads (" +
                               num(c.num_attention_heads) + ")");

  auto probability = [&](const char* key, double v) {
    if (!(v >= 0.0 && v < 1.0)) d.error(key, std::string(key) + " must be in [0, 1), got " + num(v));
  };
  probability("hidden_dropout_prob", c.hidden_dropout_prob);
  probability("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  if (c.classifier_dropout) probability("classifier_dropout", *c.classifier_dropout);

  auto positive = [&](const char* key, double v) {
    if (!(v > 0.0) || !std::isfinite(v)) d.error(key, std::string(key) + " must be greater than 0, got " + num(v));
  };
  positive("initializer_range", c.initializer_range);
  positive("layer_norm_eps", c.layer_norm_eps);

  if (c.vocab_size > 0 && (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size))
    d.error("pad_token_id", "pad_token_id (" + num(c.pad_token_id) + ") must be in [0, vocab_size) = [0, " +
                                num(c.vocab_size) + ")");
  if (c.use_task_id && c.task_type_vocab_size > 0 && (c.task_id < 0 || c.task_id >= c.task_type_vocab_size))
    d.error("task_id", "task_id (" + num(c.task_id) + ") must be in [0, task_type_vocab_size) = [0, " +
                           num(c.task_type_vocab_size) + ")");
  if (c.model_type == ModelType::Roberta &&
      (c.position_kind == PositionKind::Absolute || c.position_kind == PositionKind::Sinusoidal) &&
      c.max_position_embeddings > 0 && c.max_position_embeddings <= c.pad_token_id + 1)
    d.error("max_position_embeddings",
            "max_position_embeddings (" + num(c.max_position_embeddings) + ") must exceed pad_token_id + 1 (" +
                num(c.pad_token_id + 1) + ") for roberta, whose position ids start at pad_token_id + 1");

  if (!c.architectures.empty()) {
    const std::string& arch = c.architectures[0];
    Head h;
    if (!head_from_architecture(arch, &h)) {
      d.error("architectures", "architectures[0] '" + arch +
                                   "' is not supported; supported heads: Model, ForSequenceClassification, "
                                   "ForTokenClassification, ForQuestionAnswering, ForMaskedLM, "
                                   "ForMultipleChoice, ForPreTraining");
    } else {
      if (h == Head::PreTraining && c.model_type == ModelType::Roberta)
        d.error("architectures", "architectures[0] '" + arch + "': roberta has no ForPreTraining head");
      const std::string prefix = c.base_prefix();
      if (lower(arch).rfind(prefix, 0) != 0)
        d.warn("architectures", "architectures[0] '" + arch + "' does not match model_type " + prefix +
                                    "; weights are expected under '" + prefix + ".'");
    }
  }
  const Head head = c.head();
  if ((head == Head::SequenceClassification || head == Head::TokenClassification) && c.num_labels() < 1)
    d.error("num_labels", "num_labels must be at least 1 for a classification head, got " + num(c.num_labels()));

  static const std::set<std::string> problem_types = {"regression", "single_label_classification",
                                                      "multi_label_classification"};
  if (!c.problem_type.empty() && !problem_types.count(c.problem_type))
    d.error("problem_type", "problem_type '" + c.problem_type +
                                "' is not supported; supported: regression, single_label_classification, "
                                "multi_label_classification");

  // label2id must be the inverse of id2label (when the file gives both).
  const json& o = c.original;
  if (o.is_object() && both_given(o, "id2label", "label2id") && o["label2id"].is_object() &&
      o["id2label"].is_object() && o["id2label"].size() == c.id2label.size()) {
    std::map<std::string, int64_t> given;
    for (const auto& [name, v] : o["label2id"].items()) {
      int64_t idx = 0;
      if (!read_int(v, &idx)) {
        d.error("label2id", "label2id['" + name + "'] must be an integer, got " + describe_json(v));
        continue;
      }
      given[name] = idx;
      if (idx < 0 || idx >= c.num_labels())
        d.error("label2id", "label2id['" + name + "'] = " + num(idx) + " is out of range; id2label has " +
                                num(c.num_labels()) + " labels");
      else if (c.id2label[idx] != name)
        d.error("label2id", "label2id['" + name + "'] = " + num(idx) + " disagrees with id2label['" + num(idx) +
                                "'] = '" + c.id2label[idx] + "'");
    }
    for (size_t i = 0; i < c.id2label.size(); ++i)
      if (!given.count(c.id2label[i]))
        d.error("label2id", "label '" + c.id2label[i] + "' (id2label['" + std::to_string(i) +
                                "']) is missing from label2id");
  }
  return d.list();
}

}  // namespace ernie

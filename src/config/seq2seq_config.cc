// BART-family configs: names, the layout each transformers class builds, reading, validation and
// the parameter/FLOP counts (see include/ernie/seq2seq_config.h).
#include "ernie/seq2seq_config.h"

#include <array>
#include <cctype>
#include <cmath>

#include "config/json_util.h"
#include "config/seq2seq_fields.h"
#include "ernie/error.h"

namespace ernie {

using json = nlohmann::json;
using namespace config_detail;

namespace {

struct TypeNames {
  Seq2SeqType type;
  const char* model_type;
  const char* prefix;  // class-name prefix
  const char* generation_class;
};

constexpr std::array<TypeNames, 6> kTypes = {{
    {Seq2SeqType::Bart, "bart", "Bart", "BartForConditionalGeneration"},
    {Seq2SeqType::MBart, "mbart", "MBart", "MBartForConditionalGeneration"},
    {Seq2SeqType::Marian, "marian", "Marian", "MarianMTModel"},
    {Seq2SeqType::Pegasus, "pegasus", "Pegasus", "PegasusForConditionalGeneration"},
    {Seq2SeqType::Blenderbot, "blenderbot", "Blenderbot", "BlenderbotForConditionalGeneration"},
    {Seq2SeqType::BlenderbotSmall, "blenderbot-small", "BlenderbotSmall", "BlenderbotSmallForConditionalGeneration"},
}};

const TypeNames& names(Seq2SeqType t) {
  for (const auto& n : kTypes)
    if (n.type == t) return n;
  return kTypes[0];
}

}  // namespace

const char* to_string(Seq2SeqType t) { return names(t).model_type; }
const char* generation_class(Seq2SeqType t) { return names(t).generation_class; }

const char* config_class(Seq2SeqType t) {
  switch (t) {
    case Seq2SeqType::Bart: return "BartConfig";
    case Seq2SeqType::MBart: return "MBartConfig";
    case Seq2SeqType::Marian: return "MarianConfig";
    case Seq2SeqType::Pegasus: return "PegasusConfig";
    case Seq2SeqType::Blenderbot: return "BlenderbotConfig";
    case Seq2SeqType::BlenderbotSmall: return "BlenderbotSmallConfig";
  }
  return "BartConfig";
}

bool seq2seq_type_from_string(const std::string& model_type, Seq2SeqType* out) {
  for (const auto& n : kTypes)
    if (model_type == n.model_type) {
      *out = n.type;
      return true;
    }
  return false;
}

std::optional<Seq2SeqType> seq2seq_type_of(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  Seq2SeqType t;
  if (const json* mt = get(doc, "model_type")) {
    if (mt->is_string() && seq2seq_type_from_string(mt->get<std::string>(), &t)) return t;
    return std::nullopt;
  }
  const json* arch = get(doc, "architectures");
  if (!arch || !arch->is_array() || arch->empty() || !(*arch)[0].is_string()) return std::nullopt;
  const std::string a = (*arch)[0].get<std::string>();
  // Longest prefix first: "BlenderbotSmall..." before "Blenderbot...", "MBart..." is not "Bart...".
  std::optional<Seq2SeqType> best;
  size_t best_len = 0;
  for (const auto& n : kTypes) {
    const std::string p = n.prefix;
    const bool match = a.rfind(p, 0) == 0 && (a.size() == p.size() || std::isupper(static_cast<unsigned char>(a[p.size()])));
    if (match && p.size() > best_len) {
      best = n.type;
      best_len = p.size();
    }
  }
  return best;
}

std::optional<Seq2SeqType> seq2seq_type_of_file(const std::filesystem::path& path) {
  return seq2seq_type_of(read_config_document(path));
}

Seq2SeqLayout seq2seq_layout(Seq2SeqType t) {
  switch (t) {
    case Seq2SeqType::Bart: return {false, 2, false, true, false};
    case Seq2SeqType::MBart: return {false, 2, true, true, true};
    case Seq2SeqType::Marian: return {true, 0, false, false, false};
    case Seq2SeqType::Pegasus: return {true, 0, true, false, true};
    case Seq2SeqType::Blenderbot: return {false, 0, true, false, true};
    case Seq2SeqType::BlenderbotSmall: return {false, 0, false, true, false};
  }
  return {false, 2, false, true, false};
}

// ---- reading -----------------------------------------------------------------------------------

namespace {

// The effective value of `key`: the file's (when present, not null and of the right type), else
// the type's default.
json effective(const json& doc, Seq2SeqType type, const char* key) {
  const Seq2SeqField* f = find_seq2seq_field(key);
  if (const json* v = get(doc, key); v && f && type_matches(*v, f->type)) return *v;
  return f ? seq2seq_default(*f, type) : json();
}

void read_values(Seq2SeqConfig& c, const json& doc) {
  auto i64 = [&](const char* key, int64_t& out) {
    int64_t v = 0;
    if (read_int(effective(doc, c.type, key), &v)) out = v;
  };
  auto opt_i64 = [&](const char* key, std::optional<int64_t>& out) {
    int64_t v = 0;
    const json e = effective(doc, c.type, key);
    out = read_int(e, &v) ? std::optional<int64_t>(v) : std::nullopt;
  };
  auto dbl = [&](const char* key, double& out) {
    const json e = effective(doc, c.type, key);
    if (e.is_number()) out = e.get<double>();
  };
  auto flag = [&](const char* key, bool& out) {
    const json e = effective(doc, c.type, key);
    if (e.is_boolean()) out = e.get<bool>();
  };
  i64("vocab_size", c.vocab_size);
  i64("d_model", c.d_model);
  i64("encoder_layers", c.encoder_layers);
  i64("decoder_layers", c.decoder_layers);
  i64("encoder_attention_heads", c.encoder_attention_heads);
  i64("decoder_attention_heads", c.decoder_attention_heads);
  i64("encoder_ffn_dim", c.encoder_ffn_dim);
  i64("decoder_ffn_dim", c.decoder_ffn_dim);
  i64("max_position_embeddings", c.max_position_embeddings);
  if (const json e = effective(doc, c.type, "activation_function"); e.is_string()) c.activation_function = e;
  dbl("dropout", c.dropout);
  dbl("attention_dropout", c.attention_dropout);
  dbl("activation_dropout", c.activation_dropout);
  dbl("classifier_dropout", c.classifier_dropout);
  dbl("encoder_layerdrop", c.encoder_layerdrop);
  dbl("decoder_layerdrop", c.decoder_layerdrop);
  dbl("init_std", c.init_std);
  flag("scale_embedding", c.scale_embedding);
  flag("tie_word_embeddings", c.tie_word_embeddings);
  flag("share_encoder_decoder_embeddings", c.share_encoder_decoder_embeddings);
  opt_i64("decoder_vocab_size", c.decoder_vocab_size);
  opt_i64("pad_token_id", c.pad_token_id);
  opt_i64("bos_token_id", c.bos_token_id);
  opt_i64("eos_token_id", c.eos_token_id);
  opt_i64("decoder_start_token_id", c.decoder_start_token_id);
}

// Types, nulls and unknown keys, as the ERNIE reader reports them.
void check_keys(Seq2SeqConfig& c, const json& doc, const ConfigOptions& opts, Diags& d) {
  for (const auto& [key, value] : doc.items()) {
    const Seq2SeqKeyText text = seq2seq_key_text(key);
    if (!text.known) {
      report_unknown_key(d, key, closest_name(key, seq2seq_known_keys()), opts.strict);
      c.unknown_keys.push_back(key);
      continue;
    }
    const Seq2SeqField* f = find_seq2seq_field(key);
    if (!f) continue;  // a generic key of the ERNIE table: not type-checked
    if (value.is_null()) {
      const bool nullable = f->type == FieldType::Any || f->type == FieldType::OptInt || f->def.is_null();
      if (!nullable)
        d.warn(key, key + " is null; using the default " + show_value(seq2seq_default(*f, c.type)));
      continue;
    }
    if (!type_matches(value, f->type)) d.error(key, type_error(key, f->type, value));
  }
}

// A legacy switch that disagrees with its type's layout is ignored by transformers >= 4.2: say so.
void check_legacy(const Seq2SeqConfig& c, Diags& d) {
  for (const char* key : {"static_position_embeddings", "normalize_before", "add_final_layer_norm",
                          "normalize_embedding", "do_blenderbot_90_layernorm"}) {
    const json* v = get(c.original, key);
    const Seq2SeqField* f = find_seq2seq_field(key);
    if (!v || !v->is_boolean() || !f) continue;
    const json expected = seq2seq_default(*f, c.type);
    if (*v == expected) continue;
    d.warn(key, std::string(key) + " is " + v->dump() + ", but transformers >= 4.2 builds model_type " +
                    to_string(c.type) + " as " + expected.dump() + " whatever the file says (only 2.9-4.1 read " +
                    "this switch); `ernie config doctor` explains");
  }
}

}  // namespace

Seq2SeqConfig parse_seq2seq_config_json(const json& doc, const ConfigOptions& opts,
                                        std::vector<ConfigDiagnostic>* warnings) {
  if (!doc.is_object()) throw ConfigError({{"", "a config must be a JSON object, got " + describe_json(doc)}});
  const std::optional<Seq2SeqType> type = seq2seq_type_of(doc);
  if (!type) {
    const json* mt = get(doc, "model_type");
    throw ConfigError({{"model_type", "model_type " + (mt ? show_value(*mt) : std::string("(none)")) +
                                          " is not of the BART family; supported: bart, mbart, marian, "
                                          "pegasus, blenderbot, blenderbot-small"}});
  }
  Diags d;
  Seq2SeqConfig c;
  c.type = *type;
  c.original = doc;
  check_keys(c, doc, opts, d);
  read_values(c, doc);
  for (auto& diag : validate_seq2seq_config(c)) d.add(std::move(diag));
  d.finish(warnings);
  return c;
}

Seq2SeqConfig load_seq2seq_config(const std::filesystem::path& path, const ConfigOptions& opts,
                                  std::vector<ConfigDiagnostic>* warnings) {
  return parse_seq2seq_config_json(read_config_document(path), opts, warnings);
}

// ---- validation --------------------------------------------------------------------------------

std::vector<ConfigDiagnostic> validate_seq2seq_config(const Seq2SeqConfig& c) {
  Diags d;
  // A key whose file value has the wrong type was already reported; don't judge its default.
  auto typed = [&](const char* key) {
    const json* v = get(c.original, key);
    const Seq2SeqField* f = find_seq2seq_field(key);
    return !v || !f || type_matches(*v, f->type);
  };
  auto at_least_1 = [&](const char* key, int64_t v) {
    if (typed(key) && v < 1) d.error(key, std::string(key) + " must be at least 1, got " + num(v));
  };
  at_least_1("vocab_size", c.vocab_size);
  at_least_1("d_model", c.d_model);
  at_least_1("encoder_layers", c.encoder_layers);
  at_least_1("decoder_layers", c.decoder_layers);
  at_least_1("encoder_attention_heads", c.encoder_attention_heads);
  at_least_1("decoder_attention_heads", c.decoder_attention_heads);
  at_least_1("encoder_ffn_dim", c.encoder_ffn_dim);
  at_least_1("decoder_ffn_dim", c.decoder_ffn_dim);
  at_least_1("max_position_embeddings", c.max_position_embeddings);
  if (c.decoder_vocab_size) at_least_1("decoder_vocab_size", *c.decoder_vocab_size);

  // One message for both sides, so that a bad d_model is reported once.
  if (c.d_model > 0 && typed("d_model")) {
    std::vector<std::string> bad;
    for (auto [key, heads] : {std::pair{"encoder_attention_heads", c.encoder_attention_heads},
                              std::pair{"decoder_attention_heads", c.decoder_attention_heads}})
      if (heads > 0 && c.d_model % heads != 0) bad.push_back(std::string(key) + " (" + num(heads) + ")");
    if (!bad.empty())
      d.error("d_model", "d_model (" + num(c.d_model) + ") must be divisible by " + bad[0] +
                             (bad.size() > 1 ? " and " + bad[1] : std::string()));
  }

  auto probability = [&](const char* key, double v, bool one_allowed) {
    const bool ok = v >= 0.0 && (one_allowed ? v <= 1.0 : v < 1.0);
    if (typed(key) && !ok)
      d.error(key, std::string(key) + " must be in [0, 1" + (one_allowed ? "]" : ")") + ", got " + num(v));
  };
  probability("dropout", c.dropout, false);
  probability("attention_dropout", c.attention_dropout, false);
  probability("activation_dropout", c.activation_dropout, false);
  probability("classifier_dropout", c.classifier_dropout, false);
  probability("encoder_layerdrop", c.encoder_layerdrop, true);
  probability("decoder_layerdrop", c.decoder_layerdrop, true);
  if (typed("init_std") && !(c.init_std > 0.0 && std::isfinite(c.init_std)))
    d.error("init_std", "init_std must be greater than 0, got " + num(c.init_std));

  Activation act;
  if (typed("activation_function") && !activation_from_string(c.activation_function, &act))
    d.error("activation_function", "activation_function '" + c.activation_function +
                                       "' is not supported; supported: " + list_names(supported_activations()));

  auto token = [&](const char* key, const std::optional<int64_t>& id, int64_t vocab) {
    if (typed(key) && id && vocab > 0 && (*id < 0 || *id >= vocab))
      d.error(key, std::string(key) + " (" + num(*id) + ") must be in [0, " + num(vocab) + ")");
  };
  token("pad_token_id", c.pad_token_id, c.vocab_size);
  token("bos_token_id", c.bos_token_id, c.vocab_size);
  token("eos_token_id", c.eos_token_id, c.vocab_size);
  token("decoder_start_token_id", c.decoder_start_token_id, c.target_vocab_size());

  if (const json* arch = get(c.original, "architectures"); arch && arch->is_array() && !arch->empty()) {
    const std::optional<Seq2SeqType> from_arch = seq2seq_type_of(json{{"architectures", *arch}});
    if (!from_arch || *from_arch != c.type)
      d.warn("architectures", "architectures[0] " + (*arch)[0].dump() + " is not a class of model_type " +
                                  to_string(c.type) + "; transformers >= 4.2 loads " + generation_class(c.type));
  }
  check_legacy(c, d);
  return d.list();
}

// ---- parameters and compute --------------------------------------------------------------------

Seq2SeqFacts seq2seq_facts(const Seq2SeqConfig& c, int64_t seq_len) {
  const Seq2SeqLayout lay = seq2seq_layout(c.type);
  const int64_t d = c.d_model, fe = c.encoder_ffn_dim, fd = c.decoder_ffn_dim;
  const int64_t v = c.vocab_size, vt = c.target_vocab_size();
  const bool own_decoder_table = c.type == Seq2SeqType::Marian && !c.share_encoder_decoder_embeddings;
  Seq2SeqFacts f;
  f.class_name = generation_class(c.type);
  f.shared_embeddings = v * d;
  f.decoder_embeddings = own_decoder_table ? vt * d : 0;
  const int64_t position_rows = c.max_position_embeddings + (lay.sinusoidal_positions ? 0 : lay.position_offset);
  f.encoder_positions = f.decoder_positions = position_rows * d;
  // Attention: q, k, v, out projections with biases; LayerNorm: weight + bias.
  const int64_t attention = 4 * (d * d + d), norm = 2 * d;
  const int64_t enc_layer = attention + norm + (d * fe + fe) + (fe * d + d) + norm;
  const int64_t dec_layer = 2 * attention + 2 * norm + (d * fd + fd) + (fd * d + d) + norm;
  f.encoder_layers = c.encoder_layers * enc_layer;
  f.decoder_layers = c.decoder_layers * dec_layer;
  const int64_t side_norms = (lay.layernorm_embedding ? norm : 0) + (lay.final_layer_norm ? norm : 0);
  f.encoder_norms = f.decoder_norms = side_norms;
  f.lm_head = c.tie_word_embeddings ? 0 : vt * d;
  f.total = f.shared_embeddings + f.decoder_embeddings + f.encoder_positions + f.decoder_positions +
            f.encoder_layers + f.decoder_layers + f.encoder_norms + f.decoder_norms + f.lm_head;
  f.trainable = f.total - (lay.sinusoidal_positions ? f.encoder_positions + f.decoder_positions : 0);
  f.final_logits_bias = vt;
  f.bytes_fp32 = 4 * (f.total + f.final_logits_bias);
  f.bytes_bf16 = 2 * (f.total + f.final_logits_bias);
  f.max_sequence_length = c.max_sequence_length();

  f.seq_len = seq_len;
  const int64_t enc_matmul = 4 * d * d + 2 * d * fe;
  const int64_t dec_matmul = 8 * d * d + 2 * d * fd;
  f.encoder_flops_per_token = c.encoder_layers * (2 * enc_matmul + 4 * seq_len * d);
  f.decoder_flops_per_token = c.decoder_layers * (2 * dec_matmul + 2 * 4 * seq_len * d) + 2 * vt * d;
  return f;
}

}  // namespace ernie

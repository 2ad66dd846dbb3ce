// `ernie config explain`: the field table rendered for one config, in English or Chinese, plus the
// numbers that follow from it. Also the Markdown reference of docs/CONFIG.md.
#include "ernie/explain.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "config/explain_util.h"
#include "config/fields.h"
#include "ernie/error.h"
#include "ernie/params.h"

namespace ernie {

using json = nlohmann::json;
using namespace config_detail;

// ---- formatting (shared with seq2seq_explain.cc and doctor.cc through explain_util.h) ------------

namespace config_detail {

std::string fixed1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string format_bytes(int64_t bytes) {
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  if (mib >= 1024.0) return fixed1(mib / 1024.0) + " GiB";
  if (mib >= 1.0) return fixed1(mib) + " MiB";
  return fixed1(static_cast<double>(bytes) / 1024.0) + " KiB";
}

// 170.1 M, 21.8 G, ...
std::string format_si(int64_t v) {
  const char* units[] = {"", " K", " M", " G", " T", " P"};
  double x = static_cast<double>(v);
  int u = 0;
  while (x >= 1000.0 && u < 5) {
    x /= 1000.0;
    ++u;
  }
  return u == 0 ? std::to_string(v) : fixed1(x) + units[u];
}

// Chinese magnitude: "约 9,988 万" / "约 1.2 亿".
std::string format_zh_magnitude(int64_t n) {
  char buf[64];
  if (n >= 100000000) {
    std::snprintf(buf, sizeof buf, "约 %.2f 亿", static_cast<double>(n) / 1e8);
    return buf;
  }
  if (n >= 10000) return "约 " + format_count((n + 5000) / 10000) + " 万";
  return std::to_string(n);
}

bool zh_lang(const std::string& lang) {
  if (lang == "zh") return true;
  if (lang == "en") return false;
  throw Error("unsupported language '" + lang + "'; supported: en, zh");
}

// A value short enough for one line: label maps summarized, long JSON cut.
std::string show_field_value(const std::string& key, const json& v, bool zh) {
  if ((key == "id2label" || key == "label2id") && v.is_object()) {
    // Index order, not the object's key order ("10" sorts before "2").
    std::vector<std::pair<int64_t, std::string>> by_index;
    for (const auto& [k, val] : v.items()) {
      int64_t i = 0;
      if (key == "label2id") {
        i = val.is_number() ? val.get<int64_t>() : 0;
        by_index.emplace_back(i, k);
      } else {
        try {
          i = std::stoll(k);
        } catch (...) {
        }
        by_index.emplace_back(i, show_value(val));
      }
    }
    std::stable_sort(by_index.begin(), by_index.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> names;
    for (auto& [i, name] : by_index) names.push_back(name);
    std::string list;
    const size_t shown = names.size() > 4 ? 3 : names.size();
    for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 4) list += ", ..., " + names.back();
    return std::to_string(names.size()) + (zh ? " 个标签：" : " labels: ") + list;
  }
  std::string s = show_value(v);
  if (s.size() > 70) s = s.substr(0, 67) + "...";
  return s;
}

// Display columns of UTF-8 text: CJK and full-width characters take two.
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    const size_t len = ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
    w += len >= 3 ? 2 : 1;
    i += len;
  }
  return w;
}

std::string seq_len_note(int64_t seq_len, int64_t longest, bool zh) {
  if (seq_len <= longest) return "";
  return zh ? "  注意：序列长度 " + std::to_string(seq_len) + " 超过了最长输入 " + std::to_string(longest) + "\n"
            : "  Note: seq_len " + std::to_string(seq_len) + " exceeds the longest input (" + std::to_string(longest) +
                  ")\n";
}

std::string unknown_keys_line(const std::vector<std::string>& keys, bool zh) {
  std::string s = zh ? "  未知键：" : "  Unknown keys: ";
  if (keys.empty()) s += zh ? "无" : "none";
  for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
  return s + "\n";
}

}  // namespace config_detail

namespace {


const char* source_name(ConfigSource s) {
  return s == ConfigSource::PaddleNLP ? "PaddleNLP" : "Hugging Face transformers";
}

const char* role_name(FieldRole r) {
  switch (r) {
    case FieldRole::Honoured: return "honoured";
    case FieldRole::Alias: return "alias";
    case FieldRole::Inert: return "inert";
    case FieldRole::Provenance: return "provenance";
  }
  return "?";
}

bool in_file(const Config& c, const FieldSpec& f) { return c.original.is_object() && c.original.contains(f.key); }


std::string show_default_value(const std::string& key, const json& def, bool zh) {
  if (def.is_null()) return zh ? "为空" : "unset";
  return show_field_value(key, def, zh);
}

// The file's default for a field, as the reader applied it.
json default_for(const Config& c, const FieldSpec& f) {
  if (std::string(f.key) == "id2label") return json{{"0", "LABEL_0"}, {"1", "LABEL_1"}};
  if (std::string(f.key) == "label2id") return json{{"LABEL_0", 0}, {"LABEL_1", 1}};
  return field_default(f, c.source, c.model_type);
}

std::string role_tag(const FieldSpec& f, bool zh) {
  switch (f.role) {
    case FieldRole::Honoured: return "";
    case FieldRole::Inert: return zh ? "不影响推理" : "inert";
    case FieldRole::Provenance: return zh ? "仅作记录" : "informational";
    case FieldRole::Alias:
      if (!f.alias_of) return zh ? "旧写法" : "legacy form";
      return zh ? std::string(f.alias_of) + " 的别名" : std::string("alias of ") + f.alias_of;
  }
  return "";
}


void explain_field(std::ostringstream& out, const Config& c, const FieldSpec& f, bool zh, bool present) {
  const json value = present ? c.original.at(f.key) : field_value(c, f);
  std::string shown = value.is_null() && !present ? (zh ? "（无）" : "(none)") : show_field_value(f.key, value, zh);
  if (std::string(f.key) == "model_type" && !present) shown = to_string(c.model_type);
  // Notes after the value: its default (or that it is one), and the key's role.
  std::vector<std::string> notes;
  if (present)
    notes.push_back(zh && default_for(c, f).is_null()
                        ? std::string("默认为空")
                        : (zh ? "默认 " : "default ") + show_default_value(f.key, default_for(c, f), zh));
  else if (f.key == std::string("model_type"))
    notes.push_back(zh ? "默认值，由文件内容推断" : "default, inferred");
  else
    notes.push_back(zh ? "默认值" : "default");
  if (!role_tag(f, zh).empty()) notes.push_back(role_tag(f, zh));
  std::string joined;
  for (const auto& n : notes) joined += (joined.empty() ? "" : zh ? "；" : "; ") + n;
  out << "  " << f.key << " = " << shown << (zh ? "（" + joined + "）" : " (" + joined + ")") << "\n";
  out << "      " << fill_placeholders(zh ? f.zh : f.en, &c) << "\n";
}

// Whether a defaulted field is worth listing for this model (task ids for ERNIE, labels for
// classification heads).
bool matters_for(const Config& c, const FieldSpec& f) {
  const std::string k = f.key;
  if (k == "use_task_id") return c.model_type == ModelType::Ernie;
  if (k == "id2label") return c.head() == Head::SequenceClassification || c.head() == Head::TokenClassification;
  return true;
}

// What the positions allow, in words.
std::string explain_positions(const Config& c, bool zh) {
  const int64_t n = c.max_position_embeddings, longest = c.max_sequence_length();
  std::string s;
  switch (c.position_kind) {
    case PositionKind::Absolute:
      s = zh ? "absolute：可学习的绝对位置表，共 " + std::to_string(n) + " 个位置"
             : "absolute: a learned table of " + std::to_string(n) + " positions";
      break;
    case PositionKind::Sinusoidal:
      s = zh ? "sinusoidal：固定的正弦位置表，共 " + std::to_string(n) + " 个位置，不参与训练"
             : "sinusoidal: a fixed (untrained) sin/cos table of " + std::to_string(n) + " positions";
      break;
    case PositionKind::RelativeKey:
    case PositionKind::RelativeKeyQuery:
      s = std::string(to_string(c.position_kind)) +
          (zh ? "：注意力内部可学习的相对距离嵌入，每层 " + std::to_string(2 * n - 1) + " 个距离"
              : ": learned distance embeddings inside attention, " + std::to_string(2 * n - 1) +
                    " distances per layer");
      break;
  }
  if (c.position_offset() > 0 && longest != n)
    s += zh ? "；位置编号从 pad_token_id + 1 = " + std::to_string(c.position_offset()) + " 开始"
            : "; position ids start at pad_token_id + 1 = " + std::to_string(c.position_offset());
  s += zh ? "；最长输入 " + std::to_string(longest) + " 个 token（含特殊符号）"
          : "; longest input " + std::to_string(longest) + " tokens (special tokens included)";
  return s;
}

}  // namespace

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

ConfigFacts config_facts(const Config& c, int64_t seq_len) {
  ConfigFacts f;
  const Head head = c.head();
  f.class_name = c.class_name();
  const auto specs = parameter_specs(c);
  f.params_embeddings = count_parameters(specs, "embeddings");
  f.params_encoder = count_parameters(specs, "encoder");
  f.params_pooler = count_parameters(specs, "pooler");
  f.params_head = count_parameters(specs, "head");
  f.params_total = count_parameters(specs);
  f.bytes_fp32 = f.params_total * 4;
  f.bytes_bf16 = f.params_total * 2;
  f.bytes_int8 = f.params_total;

  // Matmul weights: 2-D ".weight"s that are not lookup tables.
  int64_t per_token = 0, per_sequence = 0;
  for (const auto& s : specs) {
    const bool matmul = s.shape.size() == 2 && s.name.size() > 7 &&
                        s.name.compare(s.name.size() - 7, 7, ".weight") == 0 &&
                        s.name.find("embeddings.") == std::string::npos &&
                        s.name.find("distance_embedding") == std::string::npos;
    if (!matmul) continue;
    const bool once = s.part == "pooler" ||
                      (s.part == "head" && (head == Head::SequenceClassification || head == Head::MultipleChoice ||
                                            s.name.find("seq_relationship") != std::string::npos));
    (once ? per_sequence : per_token) += shape_numel(s.shape);
  }
  if ((head == Head::MaskedLM || head == Head::PreTraining) && c.tie_word_embeddings)
    per_token += c.vocab_size * c.hidden_size;  // the decoder reuses word_embeddings
  f.seq_len = seq_len;
  f.matmul_flops_per_token = 2 * per_token;
  f.attention_flops_per_token = 4 * seq_len * c.hidden_size * c.num_hidden_layers;
  f.flops_per_token = f.matmul_flops_per_token + f.attention_flops_per_token;
  f.flops_per_sequence = seq_len * f.flops_per_token + 2 * per_sequence;
  f.max_sequence_length = c.max_sequence_length();
  return f;
}

std::string explain_config(const Config& c, const std::string& lang, int64_t seq_len) {
  const bool zh = zh_lang(lang);
  const ConfigFacts facts = config_facts(c, seq_len);
  std::string reason;
  const ConfigSource detected = detect_config_source(c.original, &reason);
  std::ostringstream out;

  // ---- header
  out << (zh ? "模型：" : "Model: ") << to_string(c.model_type) << (zh ? "，" : ", ") << facts.class_name;
  const Head head = c.head();
  if (head == Head::SequenceClassification || head == Head::TokenClassification)
    out << (zh ? "，" + std::to_string(c.num_labels()) + " 个类别" : ", " + std::to_string(c.num_labels()) + " labels");
  out << "\n";
  out << (zh ? "来源：" : "Source: ") << source_name(c.source);
  if (detected != c.source)
    out << (zh ? "（由 --source 指定；文件本身看起来是 " : " (chosen by --source; the file looks like ")
        << source_name(detected) << (zh ? "）" : ")");
  else if (reason == "no ecosystem marker")
    out << (zh ? "（文件中没有生态标记键，按 Hugging Face 处理）" : " (no ecosystem marker key; Hugging Face assumed)");
  else
    out << (zh ? "（依据" + reason.replace(0, 3, "键") + " 判断）" : " (detected from " + reason + ")");
  out << "\n"
      << (zh ? "默认值取自 " : "Defaults are those of ") << source_name(c.source) << " "
      << class_prefix(c.model_type) << "Config" << (zh ? "。\n\n" : ".\n\n");

  // ---- fields in the file, then important defaulted ones
  out << (zh ? "文件中的字段（当前值，括号内为默认值）：\n" : "Fields in the file (value, then its default):\n");
  for (const auto& f : field_table())
    if (in_file(c, f)) explain_field(out, c, f, zh, true);
  for (const auto& key : c.unknown_keys) {
    out << "  " << key << " = " << show_field_value(key, c.original.at(key), zh)
        << (zh ? "（未知键，原样保留，不使用）\n" : " [unknown: kept as is, not used]\n");
  }
  bool header = false;
  for (const auto& f : field_table()) {
    if (!f.important || in_file(c, f) || !matters_for(c, f)) continue;
    if (!header) {
      out << (zh ? "\n文件中未给出、采用默认值的重要字段：\n" : "\nImportant fields not in the file (defaults apply):\n");
      header = true;
    }
    explain_field(out, c, f, zh, false);
  }

  // ---- derived facts
  out << (zh ? "\n推导信息：\n" : "\nDerived:\n");
  out << (zh ? "  参数量（" : "  Parameters of ") << facts.class_name << (zh ? "）：\n" : ":\n");
  auto row = [&](const char* en, const char* zh_name, int64_t n, const std::string& note = "") {
    const std::string label = zh ? zh_name : en;
    const std::string count = format_count(n);
    const size_t used = display_width(label) + count.size();
    out << "    " << label << std::string(used < 32 ? 32 - used : 1, ' ') << count << note << "\n";
  };
  row("embeddings", "嵌入层", facts.params_embeddings);
  row("encoder", "编码器", facts.params_encoder);
  row("pooler", "池化层", facts.params_pooler);
  row("head", "任务头", facts.params_head);
  row("total", "合计", facts.params_total, zh ? "（" + format_zh_magnitude(facts.params_total) + "）" : "");
  out << (zh ? "  权重内存：" : "  Weight memory: ") << "fp32 " << format_bytes(facts.bytes_fp32) << (zh ? "，" : ", ")
      << "bf16 " << format_bytes(facts.bytes_bf16) << (zh ? "，" : ", ") << "int8 " << format_bytes(facts.bytes_int8)
      << "\n";
  if (zh)
    out << "  前向计算量（序列长度 " << seq_len << "）：每个 token " << format_si(facts.flops_per_token)
        << "FLOPs（矩阵乘 " << format_si(facts.matmul_flops_per_token) << " + 注意力 "
        << format_si(facts.attention_flops_per_token) << "），每条序列 " << format_si(facts.flops_per_sequence)
        << "FLOPs\n";
  else
    out << "  Forward compute at seq_len " << seq_len << ": " << format_si(facts.flops_per_token)
        << "FLOPs per token (matmuls " << format_si(facts.matmul_flops_per_token) << " + attention "
        << format_si(facts.attention_flops_per_token) << "), " << format_si(facts.flops_per_sequence)
        << "FLOPs per sequence\n";
  out << (zh ? "  位置编码：" : "  Positions: ") << explain_positions(c, zh) << "\n";
  out << seq_len_note(seq_len, facts.max_sequence_length, zh);
  out << (zh ? "  配置来源：" : "  Source ecosystem: ") << source_name(c.source) << "\n";
  out << unknown_keys_line(c.unknown_keys, zh);
  return out.str();
}

json explain_config_json(const Config& c, int64_t seq_len) {
  const ConfigFacts f = config_facts(c, seq_len);
  std::string reason;
  detect_config_source(c.original, &reason);
  json fields = json::object();
  for (const auto& spec : field_table()) {
    const bool present = in_file(c, spec);
    if (!present && !spec.important) continue;
    fields[spec.key] = {{"value", present ? c.original.at(spec.key) : field_value(c, spec)},
                        {"default", default_for(c, spec)},
                        {"in_file", present},
                        {"role", role_name(spec.role)}};
  }
  return {
      {"model_type", to_string(c.model_type)},
      {"source", to_string(c.source)},
      {"source_detected_from", reason},
      {"class", f.class_name},
      {"head", to_string(c.head())},
      {"num_labels", c.num_labels()},
      {"parameters",
       {{"embeddings", f.params_embeddings},
        {"encoder", f.params_encoder},
        {"pooler", f.params_pooler},
        {"head", f.params_head},
        {"total", f.params_total}}},
      {"weight_bytes", {{"fp32", f.bytes_fp32}, {"bf16", f.bytes_bf16}, {"int8", f.bytes_int8}}},
      {"seq_len", f.seq_len},
      {"flops_per_token", f.flops_per_token},
      {"matmul_flops_per_token", f.matmul_flops_per_token},
      {"attention_flops_per_token", f.attention_flops_per_token},
      {"flops_per_sequence", f.flops_per_sequence},
      {"position_kind", to_string(c.position_kind)},
      {"max_position_embeddings", c.max_position_embeddings},
      {"position_offset", c.position_offset()},
      {"max_sequence_length", f.max_sequence_length},
      {"unknown_keys", c.unknown_keys},
      {"fields", fields},
  };
}

std::string config_summary(const Config& c) {
  const ConfigFacts f = config_facts(c, 1);
  std::string s = std::string(to_string(c.model_type)) + " (" + source_name(c.source) + "), " + f.class_name;
  const Head head = c.head();
  if (head == Head::SequenceClassification || head == Head::TokenClassification)
    s += ", " + std::to_string(c.num_labels()) + " labels";
  s += ", " + std::to_string(c.num_hidden_layers) + " layers, hidden " + std::to_string(c.hidden_size) + ", " +
       std::to_string(c.num_attention_heads) + " heads, vocab " + std::to_string(c.vocab_size) + ", " +
       format_count(f.params_total) + " parameters";
  if (!c.unknown_keys.empty()) s += ", " + std::to_string(c.unknown_keys.size()) + " unknown key(s)";
  return s;
}

std::string config_reference_markdown() {
  auto cell = [](std::string s) {
    for (size_t p = s.find('|'); p != std::string::npos; p = s.find('|', p + 2)) s.replace(p, 1, "\\|");
    return s;
  };
  auto status = [](const FieldSpec& f) {
    std::string s;
    switch (f.role) {
      case FieldRole::Honoured: s = "honoured"; break;
      case FieldRole::Inert: s = "inert"; break;
      case FieldRole::Provenance: s = "inert (provenance)"; break;
      case FieldRole::Alias: s = f.alias_of ? std::string("alias of `") + f.alias_of + "`" : "legacy form"; break;
    }
    if (f.eco == Ecosystem::HF) s += "; transformers key";
    if (f.eco == Ecosystem::Paddle) s += "; PaddleNLP key";
    return s;
  };
  auto type_name = [](FieldType t) {
    switch (t) {
      case FieldType::Int: return "int";
      case FieldType::Float: return "float";
      case FieldType::Bool: return "bool";
      case FieldType::String: return "string";
      case FieldType::Activation: return "activation";
      case FieldType::OptInt: return "int or null";
      case FieldType::OptFloat: return "float or null";
      case FieldType::StringList: return "list of strings";
      case FieldType::Object: return "object";
      case FieldType::Any: return "any";
    }
    return "?";
  };

  std::ostringstream out;
  out << "| Key | Type | HF default | PaddleNLP default | Status | Meaning | 含义 |\n";
  out << "|---|---|---|---|---|---|---|\n";
  const auto& table = field_table();
  for (size_t i = 0; i < table.size(); ++i) {
    const FieldSpec& f = table[i];
    if (f.group && i > 0 && table[i - 1].group && std::string(f.group) == table[i - 1].group) continue;
    std::string keys = std::string("`") + f.key + "`";
    if (f.group)
      for (size_t j = i + 1; j < table.size() && table[j].group && std::string(table[j].group) == f.group; ++j)
        keys += ", `" + std::string(table[j].key) + "`";
    out << "| " << keys << " | " << type_name(f.type) << " | "
        << (f.group ? "—" : default_summary(f, ConfigSource::HuggingFace)) << " | "
        << (f.group ? "—" : default_summary(f, ConfigSource::PaddleNLP)) << " | " << status(f) << " | "
        << cell(fill_placeholders(f.en, nullptr)) << " | " << cell(fill_placeholders(f.zh, nullptr)) << " |\n";
  }
  return out.str();
}

}  // namespace ernie

// `ernie config explain` and `validate` for BART-family configs: every key of the file in English or
// Chinese with its type's default, legacy switches with their history, then the parameter counts of
// the generation class, the position table and the compute per token.
#include <sstream>

#include "config/explain_util.h"
#include "config/json_util.h"
#include "config/seq2seq_fields.h"
#include "ernie/explain.h"
#include "ernie/seq2seq_config.h"

namespace ernie {

using json = nlohmann::json;
using namespace config_detail;

namespace {

std::string role_tag(Seq2SeqRole r, bool zh) {
  switch (r) {
    case Seq2SeqRole::Shape: return "";
    case Seq2SeqRole::Training: return zh ? "仅训练" : "training only";
    case Seq2SeqRole::Token: return zh ? "特殊 token" : "special token";
    case Seq2SeqRole::Labels: return zh ? "分类标签" : "labels";
    case Seq2SeqRole::Generation: return zh ? "文本生成" : "generation";
    case Seq2SeqRole::Legacy: return zh ? "旧开关：transformers 4.2 起不再读取" : "legacy: not read since transformers 4.2";
    case Seq2SeqRole::Inert: return zh ? "不影响权重" : "inert";
    case Seq2SeqRole::Provenance: return zh ? "仅作记录" : "informational";
  }
  return "";
}

const char* role_name(Seq2SeqRole r) {
  switch (r) {
    case Seq2SeqRole::Shape: return "shape";
    case Seq2SeqRole::Training: return "training";
    case Seq2SeqRole::Token: return "token";
    case Seq2SeqRole::Labels: return "labels";
    case Seq2SeqRole::Generation: return "generation";
    case Seq2SeqRole::Legacy: return "legacy";
    case Seq2SeqRole::Inert: return "inert";
    case Seq2SeqRole::Provenance: return "provenance";
  }
  return "?";
}

// The default a key of the file is compared with (null: none).
json default_of(const Seq2SeqConfig& c, const std::string& key) {
  const Seq2SeqField* f = find_seq2seq_field(key);
  return f ? seq2seq_default(*f, c.type) : json();
}

void explain_key(std::ostringstream& out, const Seq2SeqConfig& c, const std::string& key, bool zh, bool present) {
  const Seq2SeqKeyText text = seq2seq_key_text(key);
  const json value = present ? c.original.at(key) : default_of(c, key);
  const json def = default_of(c, key);
  std::vector<std::string> notes;
  if (present)
    notes.push_back(def.is_null() ? (zh ? "默认为空" : "no default")
                                  : (zh ? "默认 " : "default ") + show_field_value(key, def, zh));
  else
    notes.push_back(zh ? "默认值" : "default");
  if (!text.known)
    notes.push_back(zh ? "未知键，原样保留，不使用" : "unknown: kept as is, not used");
  else if (!role_tag(text.role, zh).empty())
    notes.push_back(role_tag(text.role, zh));
  std::string joined;
  for (const auto& n : notes) joined += (joined.empty() ? "" : zh ? "；" : "; ") + n;
  out << "  " << key << " = " << show_field_value(key, value, zh) << (zh ? "（" + joined + "）" : " (" + joined + ")")
      << "\n";
  if (text.known) out << "      " << (zh ? text.zh : text.en) << "\n";
  // The BartConfig switches of v2.9-v4.1 (scale_embedding among them, though it survived).
  if (const std::string history = legacy_switch_history(key, zh); !history.empty())
    out << "      " << (zh ? "历史：" : "History: ") << history << "\n";
}

std::string positions_text(const Seq2SeqConfig& c, bool zh) {
  const Seq2SeqLayout lay = seq2seq_layout(c.type);
  const int64_t n = c.max_position_embeddings;
  std::string s;
  if (lay.sinusoidal_positions)
    s = zh ? "固定的正弦位置表，" + std::to_string(n) + " 行，不参与训练"
           : "fixed sinusoidal table of " + std::to_string(n) + " rows, not trained";
  else if (lay.position_offset > 0)
    s = zh ? "可学习的位置表，" + std::to_string(n + lay.position_offset) + " 行（max_position_embeddings " +
                 std::to_string(n) + " + 偏移 " + std::to_string(lay.position_offset) + "：位置 i 使用第 i + " +
                 std::to_string(lay.position_offset) + " 行）"
           : "learned table of " + std::to_string(n + lay.position_offset) + " rows (max_position_embeddings " +
                 std::to_string(n) + " + offset " + std::to_string(lay.position_offset) + ": position i uses row i + " +
                 std::to_string(lay.position_offset) + ")";
  else
    s = zh ? "可学习的位置表，" + std::to_string(n) + " 行（无偏移）"
           : "learned table of " + std::to_string(n) + " rows (no offset)";
  s += zh ? "；编码器和解码器各一张；每侧最长输入 " + std::to_string(c.max_sequence_length()) + " 个 token"
          : "; one each for encoder and decoder; longest input " + std::to_string(c.max_sequence_length()) +
                " tokens per side";
  return s;
}

std::string layout_text(const Seq2SeqConfig& c, bool zh) {
  const Seq2SeqLayout lay = seq2seq_layout(c.type);
  auto b = [](bool v) { return v ? "true" : "false"; };
  std::ostringstream s;
  if (zh)
    s << (lay.pre_layer_norm ? "pre-LN（LayerNorm 在子层之前）" : "post-LN（LayerNorm 在子层之后）")
      << (lay.layernorm_embedding ? "，嵌入后有 layernorm_embedding" : "，嵌入后无 LayerNorm")
      << (lay.final_layer_norm ? "，最后一层后有 layer_norm" : "，最后一层后无 LayerNorm");
  else
    s << (lay.pre_layer_norm ? "pre-LN (LayerNorm before each sub-layer)" : "post-LN (LayerNorm after each sub-layer)")
      << (lay.layernorm_embedding ? ", layernorm_embedding after the embeddings" : ", no LayerNorm after the embeddings")
      << (lay.final_layer_norm ? ", layer_norm after the last layer" : ", no LayerNorm after the last layer");
  s << (zh ? "。旧开关的写法：" : ". In the legacy switches: ") << "static_position_embeddings="
    << b(lay.sinusoidal_positions) << ", normalize_before=" << b(lay.pre_layer_norm)
    << ", normalize_embedding=" << b(lay.layernorm_embedding) << ", add_final_layer_norm=" << b(lay.final_layer_norm);
  return s.str();
}

}  // namespace

std::string explain_seq2seq_config(const Seq2SeqConfig& c, const std::string& lang, int64_t seq_len) {
  const bool zh = zh_lang(lang);
  const Seq2SeqFacts f = seq2seq_facts(c, seq_len);
  std::ostringstream out;
  out << (zh ? "模型：" : "Model: ") << to_string(c.type) << (zh ? "，" : ", ") << f.class_name
      << (zh ? "（只读取和解释：本引擎运行 ERNIE、BERT 和 RoBERTa 编码器）\n"
             : " (read and explained only: this engine runs ERNIE, BERT and RoBERTa encoders)\n");
  out << (zh ? "配置类：transformers " : "Config class: transformers ") << config_class(c.type)
      << (zh ? "；下列默认值即该类的默认值" : "; the defaults below are that class's");
  if (const json* v = get(c.original, "transformers_version"))
    out << (zh ? "；文件由 transformers " : "; written by transformers ") << show_value(*v) << (zh ? " 写出" : "");
  out << (zh ? "。\n\n" : ".\n\n");

  out << (zh ? "文件中的字段（当前值，括号内为默认值）：\n" : "Fields in the file (value, then its default):\n");
  for (const auto& [key, value] : c.original.items()) explain_key(out, c, key, zh, true);
  bool header = false;
  for (const auto& field : seq2seq_field_table()) {
    if (!field.important || c.original.contains(field.key)) continue;
    if (!header) {
      out << (zh ? "\n文件中未给出、采用默认值的重要字段：\n" : "\nImportant fields not in the file (defaults apply):\n");
      header = true;
    }
    explain_key(out, c, field.key, zh, false);
  }

  out << (zh ? "\n推导信息：\n" : "\nDerived:\n");
  out << (zh ? "  参数量（" + f.class_name + "，按 transformers 的计数方式）：\n"
             : "  Parameters of " + f.class_name + " (as transformers counts them):\n");
  auto row = [&](const char* en, const char* zh_name, int64_t n, const std::string& note_en = "",
                 const std::string& note_zh = "") {
    const std::string label = zh ? zh_name : en;
    const std::string count = format_count(n);
    const size_t used = display_width(label) + count.size();
    const std::string& note = zh ? note_zh : note_en;
    out << "    " << label << std::string(used < 40 ? 40 - used : 1, ' ') << count << (note.empty() ? "" : "  " + note)
        << "\n";
  };
  const Seq2SeqLayout lay = seq2seq_layout(c.type);
  row("shared token embeddings", "共享 token 嵌入", f.shared_embeddings,
      c.tie_word_embeddings ? "(encoder, decoder and the tied lm_head)" : "(encoder and decoder)",
      c.tie_word_embeddings ? "（编码器、解码器与绑定的 lm_head 共用）" : "（编码器与解码器共用）");
  if (f.decoder_embeddings) row("decoder token embeddings", "解码器 token 嵌入", f.decoder_embeddings);
  const std::string pos_en = lay.sinusoidal_positions ? "(sinusoidal: not trained)" : "(learned)";
  const std::string pos_zh = lay.sinusoidal_positions ? "（正弦：不参与训练）" : "（可学习）";
  row("encoder positions", "编码器位置表", f.encoder_positions, pos_en, pos_zh);
  row("encoder layers", "编码器各层", f.encoder_layers);
  const std::string norms = std::string(lay.layernorm_embedding ? "layernorm_embedding" : "") +
                            (lay.layernorm_embedding && lay.final_layer_norm ? ", " : "") +
                            (lay.final_layer_norm ? "layer_norm" : "");
  row("encoder LayerNorms", "编码器额外 LayerNorm", f.encoder_norms, norms.empty() ? "" : "(" + norms + ")",
      norms.empty() ? "" : "（" + norms + "）");
  row("decoder positions", "解码器位置表", f.decoder_positions, pos_en, pos_zh);
  row("decoder layers", "解码器各层", f.decoder_layers);
  row("decoder LayerNorms", "解码器额外 LayerNorm", f.decoder_norms, norms.empty() ? "" : "(" + norms + ")",
      norms.empty() ? "" : "（" + norms + "）");
  row("lm_head", "lm_head", f.lm_head, f.lm_head ? "" : "(tied to the token embeddings)",
      f.lm_head ? "" : "（与 token 嵌入绑定）");
  row("total", "合计", f.total, "(model.num_parameters())",
      "（model.num_parameters()，" + format_zh_magnitude(f.total) + "）");
  row("trainable", "可训练", f.trainable, "(num_parameters(only_trainable=True))",
      "（num_parameters(only_trainable=True)）");
  row("final_logits_bias", "final_logits_bias", f.final_logits_bias, "(a buffer: saved, not a parameter)",
      "（缓冲区：随权重保存，不计入参数）");
  out << (zh ? "  权重内存（含缓冲区）：" : "  Weight memory (buffer included): ") << "fp32 " << format_bytes(f.bytes_fp32)
      << (zh ? "，" : ", ") << "bf16 " << format_bytes(f.bytes_bf16) << "\n";
  out << (zh ? "  位置编码：" : "  Positions: ") << positions_text(c, zh) << "\n";
  out << (zh ? "  结构：" : "  Layout: ") << layout_text(c, zh) << "\n";
  if (zh)
    out << "  前向计算量（序列长度 " << seq_len << "）：编码器每个 token " << format_si(f.encoder_flops_per_token)
        << "FLOPs，解码器每个 token " << format_si(f.decoder_flops_per_token) << "FLOPs（含 lm_head）\n";
  else
    out << "  Forward compute at seq_len " << seq_len << ": encoder " << format_si(f.encoder_flops_per_token)
        << "FLOPs per token, decoder " << format_si(f.decoder_flops_per_token) << "FLOPs per token (lm_head included)\n";
  out << seq_len_note(seq_len, f.max_sequence_length, zh) << unknown_keys_line(c.unknown_keys, zh);
  return out.str();
}

json explain_seq2seq_config_json(const Seq2SeqConfig& c, int64_t seq_len) {
  const Seq2SeqFacts f = seq2seq_facts(c, seq_len);
  const Seq2SeqLayout lay = seq2seq_layout(c.type);
  json fields = json::object();
  for (const auto& [key, value] : c.original.items()) {
    const Seq2SeqKeyText text = seq2seq_key_text(key);
    fields[key] = {{"value", value},
                   {"default", default_of(c, key)},
                   {"in_file", true},
                   {"role", text.known ? role_name(text.role) : "unknown"}};
  }
  return {
      {"model_type", to_string(c.type)},
      {"config_class", config_class(c.type)},
      {"class", f.class_name},
      {"runs_here", false},
      {"parameters",
       {{"shared_embeddings", f.shared_embeddings},
        {"decoder_embeddings", f.decoder_embeddings},
        {"encoder_positions", f.encoder_positions},
        {"encoder_layers", f.encoder_layers},
        {"encoder_norms", f.encoder_norms},
        {"decoder_positions", f.decoder_positions},
        {"decoder_layers", f.decoder_layers},
        {"decoder_norms", f.decoder_norms},
        {"lm_head", f.lm_head},
        {"total", f.total},
        {"trainable", f.trainable},
        {"final_logits_bias_buffer", f.final_logits_bias}}},
      {"weight_bytes", {{"fp32", f.bytes_fp32}, {"bf16", f.bytes_bf16}}},
      {"positions",
       {{"kind", lay.sinusoidal_positions ? "sinusoidal" : "learned"},
        {"offset", lay.sinusoidal_positions ? 0 : lay.position_offset},
        {"max_position_embeddings", c.max_position_embeddings},
        {"max_sequence_length", f.max_sequence_length}}},
      {"layout",
       {{"pre_layer_norm", lay.pre_layer_norm},
        {"layernorm_embedding", lay.layernorm_embedding},
        {"final_layer_norm", lay.final_layer_norm}}},
      {"seq_len", f.seq_len},
      {"encoder_flops_per_token", f.encoder_flops_per_token},
      {"decoder_flops_per_token", f.decoder_flops_per_token},
      {"unknown_keys", c.unknown_keys},
      {"fields", fields},
  };
}

std::string seq2seq_summary(const Seq2SeqConfig& c) {
  const Seq2SeqFacts f = seq2seq_facts(c, 1);
  std::string s = std::string(to_string(c.type)) + " (read and explained only), " + f.class_name + ", " +
                  std::to_string(c.encoder_layers) + "+" + std::to_string(c.decoder_layers) +
                  " layers, d_model " + std::to_string(c.d_model) + ", " + std::to_string(c.encoder_attention_heads) +
                  " heads, vocab " + std::to_string(c.vocab_size) + ", " + format_count(f.total) + " parameters";
  if (!c.unknown_keys.empty()) s += ", " + std::to_string(c.unknown_keys.size()) + " unknown key(s)";
  return s;
}

}  // namespace ernie

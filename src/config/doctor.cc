// `ernie config doctor`: the history of the BART family's legacy config switches in transformers,
// and the diagnosis of `AttributeError: '<X>Config' object has no attribute '<name>'`.
//
// The history comes from transformers' sources and pull requests: BartConfig gained the switches
// for mBART (PR #3602, April 2020) and Marian (PR #3908, first released in v2.9.0); PR #9343
// (v4.2.0) split BART, mBART, Marian, Pegasus, Blenderbot and Blenderbot-small into classes of
// their own and dropped the arguments; v4.2's BartConfig/BlenderbotConfig kept fixed values for
// the TensorFlow models ("DELETE ALL OF THE FOLLOWING LINES AS SOON AS TF IS READY") until the TF
// split, PR #9497 (v4.3.0). PretrainedConfig.__init__ keeps every unknown key of config.json as an
// attribute, which is why the file itself decides whether old code finds them.
#include "ernie/doctor.h"

#include <sstream>

#include "config/explain_util.h"
#include "config/json_util.h"
#include "config/seq2seq_fields.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/seq2seq_config.h"

namespace ernie {

using json = nlohmann::json;
using namespace config_detail;

namespace {

struct History {
  const char* key;
  const char* pin;  // a pip requirement whose versions define the attribute; "" when never removed
  const char* en;   // introduced, read, removed, replaced by
  const char* zh;
};

constexpr const char* kSplitEn =
    " PR #9343 (v4.2.0) gave each model type its own classes and dropped the argument; v4.2's BartConfig and "
    "BlenderbotConfig still set a fixed value for the TensorFlow models until PR #9497 (v4.3.0) removed that too.";
constexpr const char* kSplitZh =
    "PR #9343（v4.2.0）为每种模型建立各自的类并删除了该参数；v4.2 的 BartConfig 和 BlenderbotConfig 仍为 "
    "TensorFlow 模型保留一个固定值，直到 PR #9497（v4.3.0）将其也删除。";

const std::vector<History>& histories() {
  static const std::vector<History> h = {
      {"static_position_embeddings", "transformers>=2.9.0,<4.2",
       "Added to BartConfig by PR #3908 (April 2020, first released in v2.9.0) so that MarianMTModel could reuse "
       "BART's code; MarianConfig and PegasusConfig wrote true, the other types false. modeling_bart.py read it "
       "from v2.9.0 to v4.1.1.{split} Since then model_type alone decides: Marian and Pegasus classes build a "
       "sinusoidal table, the others a learned one.",
       "由 PR #3908（2020 年 4 月，首次发布于 v2.9.0）加入 BartConfig，使 MarianMTModel 能复用 BART 的代码；"
       "MarianConfig 和 PegasusConfig 写为 true，其他类型为 false。modeling_bart.py 在 v2.9.0 至 v4.1.1 读取它。{split}"
       "此后只由 model_type 决定：Marian、Pegasus 的类使用正弦位置表，其他类使用可学习的位置表。"},
      {"normalize_before", "transformers>=2.9.0,<4.2",
       "Added with mBART by PR #3602 (April 2020): fairseq's encoder/decoder_normalize_before, true for mBART, "
       "Pegasus and Blenderbot-3B. Read by modeling_bart.py until v4.1.1.{split} Pre-LN is now built into the "
       "MBart*, Pegasus* and Blenderbot* classes. Tools that still read it fail on configs without the key "
       "(CTranslate2 issue #888: 'BartConfig' object has no attribute 'normalize_before').",
       "随 mBART 由 PR #3602（2020 年 4 月）加入：即 fairseq 的 encoder/decoder_normalize_before，mBART、Pegasus、"
       "Blenderbot-3B 为 true。modeling_bart.py 读取至 v4.1.1。{split}如今 pre-LN 直接写在 MBart*、Pegasus*、"
       "Blenderbot* 类中。仍读取它的工具遇到没有该键的配置就会失败（CTranslate2 issue #888）。"},
      {"add_final_layer_norm", "transformers>=2.9.0,<4.2",
       "Added with mBART by PR #3602 (April 2020): one more LayerNorm after the last encoder and decoder layer, "
       "true for mBART, Pegasus and Blenderbot-3B. Read until v4.1.1.{split} It is now the layer_norm module of "
       "the MBart*, Pegasus* and Blenderbot* encoders and decoders.",
       "随 mBART 由 PR #3602（2020 年 4 月）加入：在编码器和解码器最后一层之后再加一个 LayerNorm，mBART、Pegasus、"
       "Blenderbot-3B 为 true。读取至 v4.1.1。{split}如今它就是 MBart*、Pegasus*、Blenderbot* 编码器和解码器中的 "
       "layer_norm 模块。"},
      {"normalize_embedding", "transformers>=2.9.0,<4.2",
       "Added with Marian by PR #3908 (v2.9.0): false drops layernorm_embedding (Marian, Pegasus, Blenderbot-3B). "
       "Read until v4.1.1.{split} layernorm_embedding now exists only in the Bart*, MBart* and BlenderbotSmall* "
       "classes (CTranslate2 issue #816: 'BartConfig' object has no attribute 'normalize_embedding').",
       "随 Marian 由 PR #3908（v2.9.0）加入：为 false 时去掉 layernorm_embedding（Marian、Pegasus、Blenderbot-3B）。"
       "读取至 v4.1.1。{split}如今只有 Bart*、MBart*、BlenderbotSmall* 类带 layernorm_embedding（CTranslate2 issue #816）。"},
      {"scale_embedding", "",
       "Added with mBART by PR #3602 (April 2020). Unlike its siblings it survived PR #9343: every v4 config class "
       "of the family still takes scale_embedding (default false), so all versions since read it. A file without "
       "it reads as false, which is wrong for mBART, Marian, Pegasus and Blenderbot checkpoints (their files set "
       "true).",
       "随 mBART 由 PR #3602（2020 年 4 月）加入。与其他开关不同，它在 PR #9343 后保留了下来：该家族 v4 的每个配置类"
       "仍接受 scale_embedding（默认 false），因此此后所有版本都读取它。缺少该键的文件按 false 读取，这对 mBART、"
       "Marian、Pegasus、Blenderbot 的权重是错的（它们的文件写为 true）。"},
      {"add_bias_logits", "transformers>=2.9.0,<4.2",
       "Added with Marian by PR #3908 (v2.9.0) to mark the final_logits_bias of converted Marian models.{split} "
       "Every v4 generation class of the family registers final_logits_bias as a buffer, loaded when the "
       "checkpoint has one.",
       "随 Marian 由 PR #3908（v2.9.0）加入，用来标记转换得到的 Marian 模型的 final_logits_bias。{split}"
       "v4 中该家族的每个生成模型类都把 final_logits_bias 注册为缓冲区，检查点中有则加载。"},
      {"extra_pos_embeddings", "transformers>=3.1.0,<4.2",
       "Added by PR #5190 (June 2020) so that Blenderbot (0 extra rows) could reuse BART's learned position "
       "table; BART and mBART use 2.{split} The offset of 2 is now fixed inside BartLearnedPositionalEmbedding and "
       "MBartLearnedPositionalEmbedding; Blenderbot's tables have none.",
       "由 PR #5190（2020 年 6 月）加入，使 Blenderbot（0 个额外行）能复用 BART 的可学习位置表；BART、mBART 为 2。"
       "{split}如今偏移 2 固定写在 BartLearnedPositionalEmbedding 和 MBartLearnedPositionalEmbedding 中；Blenderbot "
       "的位置表没有偏移。"},
      {"do_blenderbot_90_layernorm", "transformers>=3.4.0,<4.2",
       "Added with Blenderbot (PR #7418, autumn 2020) for facebook/blenderbot-90M.{split} That checkpoint now "
       "needs the BlenderbotSmall* classes (model_type blenderbot-small).",
       "随 Blenderbot（PR #7418，2020 年秋）为 facebook/blenderbot-90M 加入。{split}该权重如今需要 BlenderbotSmall* "
       "类（model_type blenderbot-small）。"},
      {"force_bos_token_to_be_generated", "transformers==4.3.2",
       "BART generation switch for bart-large-cnn; PR #9343 kept it for BART. Later versions replaced it by the "
       "generation setting forced_bos_token_id: code for 4.3.2 that reads it fails on 4.11 (issue "
       "HLTCHKUST/VG-GPLMs#3).",
       "BART 为 bart-large-cnn 设的生成开关；PR #9343 为 BART 保留了它。之后的版本改用生成参数 forced_bos_token_id："
       "为 4.3.2 写的读取它的代码在 4.11 上会失败（issue HLTCHKUST/VG-GPLMs#3）。"},
  };
  return h;
}

const History* find_history(const std::string& key) {
  for (const auto& h : histories())
    if (key == h.key) return &h;
  return nullptr;
}

std::string with_split(std::string text, bool zh) {
  const std::string mark = "{split}";
  if (size_t p = text.find(mark); p != std::string::npos) text.replace(p, mark.size(), zh ? kSplitZh : kSplitEn);
  return text;
}

// `'BartConfig' object has no attribute 'x'` -> class "BartConfig", attribute "x"; a bare name stays.
void parse_attr(const std::string& arg, std::string* cls, std::string* attr) {
  std::vector<std::string> quoted;
  for (size_t p = arg.find('\''); p != std::string::npos; p = arg.find('\'', p)) {
    const size_t q = arg.find('\'', p + 1);
    if (q == std::string::npos) break;
    quoted.push_back(arg.substr(p + 1, q - p - 1));
    p = q + 1;
  }
  if (quoted.size() >= 2 && arg.find("has no attribute") != std::string::npos) {
    *cls = quoted[0];
    *attr = quoted[1];
  } else {
    *attr = arg;
  }
}

// What the file is: its model_type and transformers' config class for it.
struct FileInfo {
  json doc;
  std::optional<Seq2SeqType> family;
  std::string model_type, config_class, written_by;
};

FileInfo inspect(const std::filesystem::path& path) {
  FileInfo f;
  f.doc = read_config_document(path);
  f.family = seq2seq_type_of(f.doc);
  if (const json* v = get(f.doc, "transformers_version")) f.written_by = show_value(*v);
  if (f.family) {
    f.model_type = to_string(*f.family);
    f.config_class = config_class(*f.family);
    return f;
  }
  const json* mt = get(f.doc, "model_type");
  f.model_type = mt && mt->is_string() ? mt->get<std::string>() : "";
  ModelType t;
  bool encoder = false;
  for (ModelType m : {ModelType::Ernie, ModelType::Bert, ModelType::Roberta})
    if (f.model_type == to_string(m)) {
      t = m;
      encoder = true;
    }
  f.config_class = encoder ? std::string(class_prefix(t)) + "Config" : (f.model_type.empty() ? "PretrainedConfig" : f.model_type + " config");
  return f;
}

// The value to add for a legacy switch: what the file's type used in transformers 2.9-4.1.
json value_to_add(const FileInfo& f, const std::string& key) {
  const Seq2SeqField* field = find_seq2seq_field(key);
  if (!field) return json();
  if (f.family) return seq2seq_default(*field, *f.family);
  return field->def;
}

// A JSON value as Python writes it (getattr defaults in the advice).
std::string python_literal(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

class Writer {
 public:
  explicit Writer(bool zh) : zh_(zh) {}
  Writer& operator()(const std::string& en, const std::string& zh) {
    out_ << (zh_ ? zh : en);
    return *this;
  }
  Writer& operator()(const std::string& both) { return (*this)(both, both); }
  std::string str() const { return out_.str(); }

 private:
  bool zh_;
  std::ostringstream out_;
};

void header(Writer& w, const FileInfo& f, const std::filesystem::path& path) {
  w("Config: " + path.string() + " (model_type " + (f.model_type.empty() ? "missing" : f.model_type) + ", " +
        f.config_class + (f.written_by.empty() ? "" : ", written by transformers " + f.written_by) + ")\n",
    "配置：" + path.string() + "（model_type " + (f.model_type.empty() ? "缺失" : f.model_type) + "，" + f.config_class +
        (f.written_by.empty() ? "" : "，由 transformers " + f.written_by + " 写出") + "）\n");
}

void explain_mechanism(Writer& w) {
  w("How config.json and versions interact: PretrainedConfig keeps every key of config.json its class does not "
    "know as a plain attribute, and save_pretrained writes all attributes back. So config.NAME exists when the "
    "config class defines NAME in the installed transformers version, or when config.json carries the key.\n",
    "config.json 与版本如何相互作用：PretrainedConfig 会把 config.json 中其类不认识的每个键都保存为普通属性，"
    "save_pretrained 又会把所有属性写回。因此，只要所装 transformers 版本的配置类定义了 NAME，或 config.json 中有"
    "该键，config.NAME 就存在。\n");
}

void diagnose_legacy(Writer& w, const FileInfo& f, const std::string& attr, const History& h) {
  const Seq2SeqField* field = find_seq2seq_field(attr);
  w("What it is: ", "含义：")(field ? field->en : "", field ? field->zh : "")("\n");
  w("History: ", "历史：")(with_split(h.en, false), with_split(h.zh, true))("\n");
  explain_mechanism(w);
  const json* in_file = get(f.doc, attr.c_str());
  const std::string value = value_to_add(f, attr).dump();
  const std::string py_value = python_literal(value_to_add(f, attr));
  if (std::string(h.pin).empty()) {  // scale_embedding: never removed
    w("Why the error arises: every config class of the family defines " + attr + " in every version since v2.9.0, "
      "so the object is not a BART-family config (check which config class the code builds), or the installed "
      "transformers is older than the mBART support.\n",
      "错误原因：自 v2.9.0 起该家族的每个配置类在每个版本中都定义了 " + attr + "，所以出错的对象不是该家族的配置"
      "（请检查代码构建的是哪个配置类），或所装 transformers 早于支持 mBART 的版本。\n");
    w("Fix: add \"" + attr + "\": " + value + " to config.json if the code builds another config class; keep the "
      "checkpoint's value (true for mBART, Marian, Pegasus, Blenderbot).\n",
      "修复：若代码构建的是别的配置类，在 config.json 中加入 \"" + attr + "\": " + value + "；请保留权重对应的取值"
      "（mBART、Marian、Pegasus、Blenderbot 为 true）。\n");
    return;
  }
  if (!f.family) {
    w("Why the error arises: " + f.config_class + " never had " + attr + " in any transformers version; it "
      "belonged to BartConfig and its subclasses (" + h.pin + "). The code treats this config as a BART-family one "
      "(a config class that never had the attribute).\n",
      "错误原因：" + f.config_class + " 在任何 transformers 版本中都没有 " + attr + "；它属于 BartConfig 及其子类（" +
          h.pin + "）。代码把这个配置当作 BART 家族的配置来用（该配置类从未有过此属性）。\n");
    w("Fix: load the model with the config class it was trained with, or fix the code; adding \"" + attr + "\": " +
          value + " to config.json only silences the error.\n",
      "修复：用训练时的配置类加载模型，或修改代码；在 config.json 中加入 \"" + attr + "\": " + value +
          " 只能消除报错。\n");
    return;
  }
  if (in_file) {
    w("In this file: " + attr + " = " + in_file->dump() + ". Every version therefore gives config." + attr +
          " when it loads this file; the failing object was built elsewhere (a " + f.config_class +
          "(...) in code, or a copy of the config created by transformers >= 4.3, which has none of the legacy "
          "switches). Load this file with from_pretrained, or add the key to that config.\n",
      "本文件中：" + attr + " = " + in_file->dump() + "。因此任何版本加载本文件时都有 config." + attr +
          "；出错的对象是在别处构建的（代码中的 " + f.config_class + "(...)，或由 transformers >= 4.3 新建的配置副本，"
          "其中没有任何旧开关）。请用 from_pretrained 加载本文件，或在那个配置中加上该键。\n");
    return;
  }
  w("In this file: no " + attr + ".\n", "本文件中：没有 " + attr + "。\n");
  w("Why the error arises: code and transformers from different versions. Code written for " + std::string(h.pin) +
        " (for example a modeling_bart.py copied into a project, or a converter) reads config." + attr +
        "; the installed transformers no longer defines it (v4.3.0 and later; v4.2.x dropped the argument and kept "
        "only fixed values for the TensorFlow models), and this config.json does not carry it. The same code fails "
        "on transformers <= 2.8 too, which never had it (issue SapienzaNLP/spring#26).\n",
    "错误原因：代码与 transformers 版本不一致。为 " + std::string(h.pin) + " 编写的代码（例如复制进项目的 "
        "modeling_bart.py，或转换工具）读取 config." + attr + "；所装的 transformers 已不再定义它（v4.3.0 及以后；"
        "v4.2.x 删除了该参数，只为 TensorFlow 模型保留固定值），而本 config.json 中也没有该键。同样的代码在从未有过"
        "该属性的 transformers <= 2.8 上也会出错（issue SapienzaNLP/spring#26）。\n");
  w("Fix, one of:\n", "修复（任选其一）：\n");
  w("  1. add \"" + attr + "\": " + value + " to config.json: the value transformers 2.9-4.1 used for model_type " +
        f.model_type + "; transformers >= 4.2 keeps it as a plain attribute and builds the same model;\n",
    "  1. 在 config.json 中加入 \"" + attr + "\": " + value + "：这是 transformers 2.9-4.1 对 model_type " + f.model_type +
        " 使用的值；transformers >= 4.2 把它当作普通属性保留，构建的模型不变；\n");
  w("  2. pin the version the code was written for: pip install \"" + std::string(h.pin) + "\";\n",
    "  2. 固定代码所针对的版本：pip install \"" + std::string(h.pin) + "\"；\n");
  w("  3. update the code to transformers >= 4.2: model_type " + f.model_type + " loads " +
        generation_class(*f.family) + ", whose layout is fixed; read getattr(config, \"" + attr + "\", " + py_value +
        ") if the switch is still needed.\n",
    "  3. 将代码更新到 transformers >= 4.2：model_type " + f.model_type + " 会加载结构固定的 " +
        generation_class(*f.family) + "；若仍需要该开关，改用 getattr(config, \"" + attr + "\", " + py_value + ")。\n");
}

void diagnose_other(Writer& w, const FileInfo& f, const std::string& attr) {
  const Seq2SeqKeyText text = seq2seq_key_text(attr);
  const bool family_key = find_seq2seq_field(attr) != nullptr;
  if (f.family && family_key) {
    w("What it is: " + text.en + "\n", "含义：" + text.zh + "\n");
    w("Why the error arises: " + f.config_class + " defines " + attr + " (default " +
          value_to_add(f, attr).dump() + "), so the failing object is not a " + f.config_class +
          ": the code got another model's config, or a version older than the class.\n",
      "错误原因：" + f.config_class + " 定义了 " + attr + "（默认 " + value_to_add(f, attr).dump() + "），所以出错的"
          "对象不是 " + f.config_class + "：代码拿到的是另一个模型的配置，或所装版本早于该类。\n");
    w("Fix: pass this config (AutoConfig.from_pretrained on this folder), or add \"" + attr + "\" to the config "
      "the code uses.\n",
      "修复：传入本配置（对该目录调用 AutoConfig.from_pretrained），或在代码所用的配置中加上 \"" + attr + "\"。\n");
    return;
  }
  if (family_key) {
    w("What it is: a key of the BART family's configs: " + text.en + "\n",
      "含义：BART 家族配置中的键：" + text.zh + "\n");
    w("Why the error arises: " + f.config_class + " never had " + attr + "; the code expects a BART-family config "
      "(a config class that never had the attribute).\n",
      "错误原因：" + f.config_class + " 从未有过 " + attr + "；代码期望的是 BART 家族的配置（该配置类从未有过此属性）。\n");
    w("Fix: use the model and config class the code was written for, or fix the code.\n",
      "修复：使用代码所针对的模型和配置类，或修改代码。\n");
    return;
  }
  std::vector<std::string> known = seq2seq_known_keys();
  for (const auto& fs : field_table()) known.push_back(fs.key);
  const std::string guess = closest_name(attr, known);
  w("What it is: no transformers config class of the BART family or of ERNIE/BERT/RoBERTa defines " + attr +
        (guess.empty() ? "" : " (did you mean " + guess + "?)") + ".\n",
    "含义：BART 家族和 ERNIE/BERT/RoBERTa 的 transformers 配置类都没有定义 " + attr +
        (guess.empty() ? "" : "（是否想写 " + guess + "？）") + "。\n");
  explain_mechanism(w);
  w("Why the error arises: custom code (or another model type) reads config." + attr + ", and this config.json "
    "does not carry it.\n",
    "错误原因：自定义代码（或其他模型类型）读取 config." + attr + "，而本 config.json 中没有该键。\n");
  w("Fix: add \"" + attr + "\" with the value that code expects to config.json, or fix the code.\n",
    "修复：在 config.json 中按该代码的期望加入 \"" + attr + "\"，或修改代码。\n");
}

// No --attr: the legacy switches of the file, and those old code would miss.
void general_check(Writer& w, const FileInfo& f, const std::filesystem::path& path) {
  std::vector<ConfigDiagnostic> diags;
  try {
    if (f.family)
      parse_seq2seq_config_json(f.doc, {}, &diags);
    else
      load_config(path, {}, &diags);
  } catch (const ConfigError& e) {
    diags.insert(diags.end(), e.diagnostics().begin(), e.diagnostics().end());
  }
  w(diags.empty() ? "Validation: ok\n" : "Validation:\n", diags.empty() ? "校验：通过\n" : "校验：\n");
  for (const auto& d : diags) w("  " + std::string(d.is_error ? "error: " : "warning: ") + d.message + "\n",
                                "  " + std::string(d.is_error ? "错误：" : "警告：") + d.message + "\n");
  if (!f.family) {
    w("The BART family's legacy switches (static_position_embeddings, normalize_before, ...) never belonged to " +
          f.config_class + "; code that reads them expects a BART-family config.\n",
      "BART 家族的旧开关（static_position_embeddings、normalize_before 等）从不属于 " + f.config_class +
          "；读取它们的代码期望的是 BART 家族的配置。\n");
    return;
  }
  json missing = json::object();
  w("Legacy switches (transformers 2.9-4.1):\n", "旧开关（transformers 2.9-4.1）：\n");
  for (const auto& h : histories()) {
    const json* v = get(f.doc, h.key);
    const json expected = value_to_add(f, h.key);
    if (!v) {
      if (std::string(h.pin).empty() || std::string(h.key) == "force_bos_token_to_be_generated") continue;
      missing[h.key] = expected;
      continue;
    }
    if (std::string(h.pin).empty()) {  // scale_embedding: still read
      w("  " + std::string(h.key) + " = " + v->dump() + ": read by every version, the v4 classes too\n",
        "  " + std::string(h.key) + " = " + v->dump() + "：所有版本（包括 v4 的类）都读取\n");
      continue;
    }
    const bool agrees = *v == expected;
    w("  " + std::string(h.key) + " = " + v->dump() +
          (agrees ? ": as model_type " + f.model_type + " is built; transformers >= 4.2 ignores the key\n"
                  : ": contradicts model_type " + f.model_type + " (built as " + expected.dump() +
                        "); transformers >= 4.2 ignores the key, 2.9-4.1 obeyed it\n"),
      "  " + std::string(h.key) + " = " + v->dump() +
          (agrees ? "：与 model_type " + f.model_type + " 的结构一致；transformers >= 4.2 忽略该键\n"
                  : "：与 model_type " + f.model_type + " 不符（其结构为 " + expected.dump() +
                        "）；transformers >= 4.2 忽略该键，2.9-4.1 会按它构建\n"));
  }
  if (!missing.empty()) {
    w("Not in the file: code written for transformers 2.9-4.1 that reads these attributes fails on transformers "
      ">= 4.3 with AttributeError. To run such code unchanged, add to config.json:\n",
      "文件中没有：为 transformers 2.9-4.1 编写、读取这些属性的代码在 transformers >= 4.3 上会报 AttributeError。"
      "若要不改代码运行，在 config.json 中加入：\n");
    w(missing.dump(2) + "\n", missing.dump(2) + "\n");
  }
  w("`ernie config doctor FILE --attr NAME` explains one attribute.\n",
    "`ernie config doctor FILE --attr NAME` 解释单个属性。\n");
}

}  // namespace

std::string config_detail::legacy_switch_history(const std::string& key, bool zh) {
  const History* h = find_history(key);
  return h ? with_split(zh ? h->zh : h->en, zh) : std::string();
}

std::string doctor_config(const std::filesystem::path& path, const std::string& attr_arg, const std::string& lang) {
  const bool zh = zh_lang(lang);
  const FileInfo f = inspect(path);
  Writer w(zh);
  header(w, f, path);
  if (attr_arg.empty()) {
    general_check(w, f, path);
    return w.str();
  }
  std::string cls, attr;
  parse_attr(attr_arg, &cls, &attr);
  if (attr.empty()) throw Error("--attr needs an attribute name");
  if (cls.empty()) cls = f.config_class;
  w("Explaining: AttributeError: '" + cls + "' object has no attribute '" + attr + "'\n",
    "解释：AttributeError: '" + cls + "' object has no attribute '" + attr + "'\n");
  if (!cls.empty() && cls != f.config_class)
    w("Note: the error names " + cls + "; this file's config class is " + f.config_class + ".\n",
      "注意：报错中的类是 " + cls + "，而本文件是 " + f.config_class + "。\n");
  if (const History* h = find_history(attr))
    diagnose_legacy(w, f, attr, *h);
  else
    diagnose_other(w, f, attr);
  return w.str();
}

}  // namespace ernie

// Tokenizers from files: HF tokenizer.json (WordPiece only), and model folders (tokenizer.json,
// or vocab.txt with tokenizer_config.json's casing and special tokens).
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ernie/atomic_file.h"
#include "ernie/error.h"
#include "ernie/tokenizer.h"

namespace ernie {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json parse_json(std::string_view text, const std::string& name) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(name + " is not valid JSON: " + e.what());
  }
}

// Typed reads that name the key when a file gives it the wrong type (nlohmann's own
// type_error names neither the file nor the key).
const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string get_string(const json& obj, const char* key, const std::string& fallback, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return fallback;
  if (!v->is_string()) throw Error(where + ": \"" + key + "\" must be a string");
  return v->get<std::string>();
}

bool get_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return fallback;
  if (!v->is_boolean()) throw Error(where + ": \"" + key + "\" must be true or false");
  return v->get<bool>();
}

const json& get_object(const json& obj, const char* key, const std::string& where) {
  static const json none;
  const json* v = member(obj, key);
  if (!v) return none;
  if (!v->is_object()) throw Error(where + ": \"" + key + "\" must be an object");
  return *v;
}

// A special token is a string or, in newer files, {"content": "...", ...}.
void read_token(const json& cfg, const char* key, std::string& out) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return;
  if (it->is_string()) out = it->get<std::string>();
  else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) out = (*it)["content"].get<std::string>();
}

void read_bool(const json& cfg, const char* key, bool& out) {
  auto it = cfg.find(key);
  if (it != cfg.end() && it->is_boolean()) out = it->get<bool>();
}

// BertProcessing's "cls"/"sep": [token, id].
void read_processor_token(const json& post, const char* key, std::string& out, const std::string& name) {
  const json* v = member(post, key);
  if (!v) return;
  if (!v->is_array() || v->empty() || !(*v)[0].is_string())
    throw Error(name + ": post_processor." + key + " must be [token, id]");
  out = (*v)[0].get<std::string>();
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const fs::path& file) {
  return parse_tokenizer_json(read_text(file), file.string());
}

Tokenizer Tokenizer::parse_tokenizer_json(std::string_view text, const std::string& name) {
  const json j = parse_json(text, name);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) throw Error(name + ": no \"model\" object");
  const json& m = j["model"];
  const std::string type = get_string(m, "type", "", name + ": model");
  if (type != "WordPiece")
    throw Error(name + ": tokenizer model type '" + type + "' is not supported (only WordPiece: BERT / ERNIE)");
  TokenizerOptions o;
  o.unk_token = get_string(m, "unk_token", o.unk_token, name + ": model");
  o.continuing_subword_prefix = get_string(m, "continuing_subword_prefix", o.continuing_subword_prefix, name + ": model");
  if (const json* n = member(m, "max_input_chars_per_word")) {
    if (!n->is_number_unsigned()) throw Error(name + ": model.max_input_chars_per_word must be a non-negative integer");
    o.max_input_chars_per_word = n->get<size_t>();
  }

  const json& norm = get_object(j, "normalizer", name);
  if (norm.is_null()) {
    o.clean_text = o.handle_chinese_chars = o.lowercase = false;
    o.strip_accents = false;
  } else if (const std::string nt = get_string(norm, "type", "?", name + ": normalizer"); nt == "BertNormalizer") {
    const std::string where = name + ": normalizer";
    o.clean_text = get_bool(norm, "clean_text", true, where);
    o.handle_chinese_chars = get_bool(norm, "handle_chinese_chars", true, where);
    o.lowercase = get_bool(norm, "lowercase", true, where);
    if (const json* sa = member(norm, "strip_accents")) {   // null: follow lowercase
      if (!sa->is_boolean()) throw Error(where + ": \"strip_accents\" must be true, false or null");
      o.strip_accents = sa->get<bool>();
    }
  } else {
    throw Error(name + ": normalizer '" + nt + "' is not supported (only BertNormalizer)");
  }
  const json& pre = get_object(j, "pre_tokenizer", name);
  if (!pre.is_null()) {
    const std::string pt = get_string(pre, "type", "?", name + ": pre_tokenizer");
    if (pt != "BertPreTokenizer") throw Error(name + ": pre-tokenizer '" + pt + "' is not supported (only BertPreTokenizer)");
  }

  const json& post = get_object(j, "post_processor", name);
  if (!post.is_null() && get_string(post, "type", "", name + ": post_processor") == "BertProcessing") {
    read_processor_token(post, "cls", o.cls_token, name);
    read_processor_token(post, "sep", o.sep_token, name);
  }
  const json& padding = get_object(j, "padding", name);
  if (!padding.is_null()) o.pad_token = get_string(padding, "pad_token", o.pad_token, name + ": padding");

  if (!m.contains("vocab") || !m["vocab"].is_object()) throw Error(name + ": model.vocab must be an object token -> id");
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const auto& [tok, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 100'000'000)
      throw Error(name + ": vocab id of '" + tok + "' is not a valid id");
    entries.emplace_back(id.get<int64_t>(), tok);
  }
  std::sort(entries.begin(), entries.end());
  if (!entries.empty() && entries.back().first > static_cast<int64_t>(entries.size()) + 65536)
    throw Error(name + ": vocab id " + std::to_string(entries.back().first) + " is far beyond the number of tokens");
  std::vector<std::string> tokens;
  int64_t next = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [id, tok] = entries[i];
    // Two tokens with one id would shift every later id by one.
    if (i > 0 && entries[i - 1].first == id)
      throw Error(name + ": vocab id " + std::to_string(id) + " is given to both '" + entries[i - 1].second + "' and '" +
                  tok + "'");
    while (next < id) tokens.emplace_back(), ++next;   // gaps stay empty
    tokens.push_back(tok);
    ++next;
  }
  return Tokenizer(Vocab::from_tokens(tokens), o);
}

Tokenizer Tokenizer::from_folder(const fs::path& dir) {
  if (fs::is_regular_file(dir / "tokenizer.json")) return from_tokenizer_json(dir / "tokenizer.json");
  const fs::path vocab = dir / "vocab.txt";
  if (!fs::is_regular_file(vocab))
    throw Error(dir.string() + " has no vocab.txt or tokenizer.json (a model folder carries its vocab next to config.json)");
  TokenizerOptions o;
  const fs::path cfg_path = dir / "tokenizer_config.json";
  if (fs::is_regular_file(cfg_path)) {
    const json cfg = parse_json(read_text(cfg_path), cfg_path.string());
    if (!cfg.is_object()) throw Error(cfg_path.string() + " must hold a JSON object");
    const std::string cls = get_string(cfg, "tokenizer_class", "", cfg_path.string());
    if (!cls.empty() && cls.find("Bert") == std::string::npos && cls.find("Ernie") == std::string::npos)
      throw Error(cfg_path.string() + ": tokenizer_class '" + cls + "' is not a WordPiece (BERT/ERNIE) tokenizer");
    read_bool(cfg, "do_lower_case", o.lowercase);
    read_bool(cfg, "tokenize_chinese_chars", o.handle_chinese_chars);
    if (cfg.contains("strip_accents") && cfg["strip_accents"].is_boolean()) o.strip_accents = cfg["strip_accents"].get<bool>();
    read_token(cfg, "unk_token", o.unk_token);
    read_token(cfg, "cls_token", o.cls_token);
    read_token(cfg, "sep_token", o.sep_token);
    read_token(cfg, "pad_token", o.pad_token);
    read_token(cfg, "mask_token", o.mask_token);
  }
  return from_vocab_file(vocab, o);
}

void Tokenizer::save(const fs::path& dir) const {
  vocab_.save(dir / "vocab.txt");
  json cfg = {{"tokenizer_class", "BertTokenizer"},
              {"do_lower_case", opts_.lowercase},
              {"tokenize_chinese_chars", opts_.handle_chinese_chars},
              {"unk_token", opts_.unk_token},
              {"cls_token", opts_.cls_token},
              {"sep_token", opts_.sep_token},
              {"pad_token", opts_.pad_token},
              {"mask_token", opts_.mask_token}};
  if (opts_.strip_accents) cfg["strip_accents"] = *opts_.strip_accents;
  write_file_atomic(dir / "tokenizer_config.json", cfg.dump(2) + "\n");
}

}  // namespace ernie

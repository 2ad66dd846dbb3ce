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

json read_json(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    throw Error(file.string() + " is not valid JSON: " + e.what());
  }
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

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const fs::path& file) {
  const json j = read_json(file);
  const std::string name = file.string();
  if (!j.contains("model") || !j["model"].is_object()) throw Error(name + ": no \"model\" object");
  const json& m = j["model"];
  const std::string type = m.value("type", std::string());
  if (type != "WordPiece")
    throw Error(name + ": tokenizer model type '" + type + "' is not supported (only WordPiece: BERT / ERNIE)");
  TokenizerOptions o;
  o.unk_token = m.value("unk_token", o.unk_token);
  o.continuing_subword_prefix = m.value("continuing_subword_prefix", o.continuing_subword_prefix);
  o.max_input_chars_per_word = m.value("max_input_chars_per_word", o.max_input_chars_per_word);

  const json norm = j.value("normalizer", json());
  if (norm.is_null()) {
    o.clean_text = o.handle_chinese_chars = o.lowercase = false;
    o.strip_accents = false;
  } else if (norm.value("type", std::string()) == "BertNormalizer") {
    o.clean_text = norm.value("clean_text", true);
    o.handle_chinese_chars = norm.value("handle_chinese_chars", true);
    o.lowercase = norm.value("lowercase", true);
    if (norm.contains("strip_accents") && norm["strip_accents"].is_boolean()) o.strip_accents = norm["strip_accents"].get<bool>();
  } else {
    throw Error(name + ": normalizer '" + norm.value("type", std::string("?")) + "' is not supported (only BertNormalizer)");
  }
  const json pre = j.value("pre_tokenizer", json());
  if (!pre.is_null() && pre.value("type", std::string()) != "BertPreTokenizer")
    throw Error(name + ": pre-tokenizer '" + pre.value("type", std::string("?")) + "' is not supported (only BertPreTokenizer)");

  const json post = j.value("post_processor", json());
  if (post.is_object() && post.value("type", std::string()) == "BertProcessing") {
    if (post.contains("cls") && post["cls"].is_array() && !post["cls"].empty()) o.cls_token = post["cls"][0].get<std::string>();
    if (post.contains("sep") && post["sep"].is_array() && !post["sep"].empty()) o.sep_token = post["sep"][0].get<std::string>();
  }
  if (j.contains("padding") && j["padding"].is_object()) o.pad_token = j["padding"].value("pad_token", o.pad_token);

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
  for (const auto& [id, tok] : entries) {
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
    const json cfg = read_json(cfg_path);
    const std::string cls = cfg.value("tokenizer_class", std::string());
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

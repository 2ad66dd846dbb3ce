// JSON helpers shared by the config readers (ERNIE/BERT/RoBERTa in config.cc, the BART family in
// seq2seq_config.cc): diagnostics, type checks, "did you mean", and reading the document itself,
// so that both report problems in the same words.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/fields.h"
#include "ernie/config.h"

namespace ernie::config_detail {

// Collects every problem of a document; errors are thrown together at the end.
class Diags {
 public:
  void error(const std::string& field, const std::string& msg) { list_.push_back({field, msg, true}); }
  void warn(const std::string& field, const std::string& msg) { list_.push_back({field, msg, false}); }
  void add(ConfigDiagnostic d) { list_.push_back(std::move(d)); }
  const std::vector<ConfigDiagnostic>& list() const { return list_; }
  // Hands the warnings to *warnings (if given) and throws every error together as a ConfigError.
  void finish(std::vector<ConfigDiagnostic>* warnings) const;

 private:
  std::vector<ConfigDiagnostic> list_;
};

// "string \"768\"", "number 0.5", "boolean true", ... for "X must be Y, got Z".
std::string describe_json(const nlohmann::json& v);
const char* expected_phrase(FieldType t);  // "an integer", "a number", ...
std::string type_error(const std::string& key, FieldType t, const nlohmann::json& v);
// Integers, and floats with an integral value (768.0), within int64.
bool read_int(const nlohmann::json& v, int64_t* out);
bool type_matches(const nlohmann::json& v, FieldType t);

std::string num(int64_t v);
std::string num(double v);
std::string list_names(const std::vector<std::string>& names);  // "a, b, c"
std::string lower(std::string s);
// The name in `known` closest to `key` (case-insensitive edit distance), if close enough to be a
// typo; "" otherwise. Ties go to the earlier name.
std::string closest_name(const std::string& key, const std::vector<std::string>& known);

// "unknown key 'x' (did you mean y?)" for a key neither table knows: a warning, or with --strict an
// error. guess: closest_name's answer ("" for none).
void report_unknown_key(Diags& d, const std::string& key, const std::string& guess, bool strict);

// A key's value, or nullptr when it is absent or null (null means "use the default").
const nlohmann::json* get(const nlohmann::json& doc, const char* key);

// A config document from text: syntax errors become "NAME:LINE:COL: syntax error: ..." and a
// non-object is refused, both as ConfigError.
nlohmann::json parse_config_document(const std::string& text, const std::string& name);
// The same from a file, or from a model folder's config.json (else model_config.json).
// *file_name (optional) gets the path of the file read.
nlohmann::json read_config_document(const std::filesystem::path& path, std::string* file_name = nullptr);

}  // namespace ernie::config_detail

// Shared JSON helpers of the config readers (see json_util.h).
#include "config/json_util.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "ernie/error.h"

namespace ernie::config_detail {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "config.json:3:15: syntax error: unexpected ','; expected ..." from nlohmann's byte offset.
ConfigDiagnostic syntax_diagnostic(const std::string& text, const std::string& name,
                                   const json::parse_error& e) {
  size_t at = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
  // nlohmann stops at the end of an unexpected string literal; point at its opening quote.
  const std::string what = e.what();
  if (what.find("unexpected string literal") != std::string::npos && at < text.size() && text[at] == '"') {
    size_t open = at;
    while (open > 0) {
      --open;
      size_t backslashes = 0;
      while (open >= backslashes + 1 && text[open - backslashes - 1] == '\\') ++backslashes;
      if (text[open] == '"' && backslashes % 2 == 0) break;
    }
    at = open;
  }
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < at; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  const size_t col = at - line_start + 1;
  std::string detail = what;
  if (size_t p = what.find(" - "); p != std::string::npos && what.find("syntax error") < p)
    detail = what.substr(p + 3);  // "unexpected ','; expected ..."
  else if (size_t q = what.find(": "); q != std::string::npos)
    detail = what.substr(q + 2);
  return {"", name + ":" + std::to_string(line) + ":" + std::to_string(col) + ": syntax error: " + detail,
          true};
}

}  // namespace

// "string \"768\"", "number 0.5", "boolean true", ... for "X must be Y, got Z".
std::string describe_json(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean " + v.dump();
    case json::value_t::string: return "string " + v.dump();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer " + v.dump();
    case json::value_t::number_float: return "number " + v.dump();
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a value of another type";
  }
}

const char* expected_phrase(FieldType t) {
  switch (t) {
    case FieldType::Int: return "an integer";
    case FieldType::Float: return "a number";
    case FieldType::Bool: return "a boolean";
    case FieldType::String: return "a string";
    case FieldType::Activation: return "a string";
    case FieldType::OptInt: return "an integer or null";
    case FieldType::OptFloat: return "a number or null";
    case FieldType::StringList: return "a list of strings";
    case FieldType::Object: return "an object";
    case FieldType::Any: return "any value";
  }
  return "?";
}

std::string type_error(const std::string& key, FieldType t, const json& v) {
  return key + " must be " + expected_phrase(t) + ", got " + describe_json(v);
}

// Integers, and floats with an integral value (768.0), within int64.
bool read_int(const json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(v.get<uint64_t>());
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      *out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

bool type_matches(const json& v, FieldType t) {
  int64_t i;
  switch (t) {
    case FieldType::Int: return read_int(v, &i);
    case FieldType::Float: return v.is_number();
    case FieldType::Bool: return v.is_boolean();
    case FieldType::String:
    case FieldType::Activation: return v.is_string();
    case FieldType::OptInt: return v.is_null() || read_int(v, &i);
    case FieldType::OptFloat: return v.is_null() || v.is_number();
    case FieldType::StringList:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
    case FieldType::Object: return v.is_object();
    case FieldType::Any: return true;
  }
  return false;
}

std::string num(int64_t v) { return std::to_string(v); }
std::string num(double v) { return json(v).dump(); }

std::string list_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}


std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


std::string closest_name(const std::string& key, const std::vector<std::string>& known) {
  const std::string k = lower(key);
  const size_t limit = std::max<size_t>(1, std::min<size_t>(3, k.size() / 4));
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& name : known) {
    const size_t d = edit_distance(k, lower(name));
    if (d < best_d) {
      best_d = d;
      best = name;
    }
  }
  return best;
}

const json* get(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it == doc.end() || it->is_null() ? nullptr : &*it;
}


void report_unknown_key(Diags& d, const std::string& key, const std::string& guess, bool strict) {
  std::string msg = "unknown key '" + key + "'";
  msg += guess.empty() ? " (kept as is, not used)" : " (did you mean " + guess + "?)";
  if (strict)
    d.error(key, msg);
  else
    d.warn(key, msg);
}

void Diags::finish(std::vector<ConfigDiagnostic>* warnings) const {
  std::vector<ConfigDiagnostic> errors;
  for (const auto& diag : list_) {
    if (diag.is_error)
      errors.push_back(diag);
    else if (warnings)
      warnings->push_back(diag);
  }
  if (!errors.empty()) throw ConfigError(std::move(errors));
}

json parse_config_document(const std::string& text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ConfigError({syntax_diagnostic(text, name, e)});
  } catch (const json::out_of_range& e) {   // a number beyond double: "number overflow parsing '1e999'"
    const std::string what = e.what();
    throw ConfigError({{"", name + ": " + what.substr(what.find("] ") + 2)}});
  }
  if (!doc.is_object()) throw ConfigError({{"", name + ": a config must be a JSON object, got " + describe_json(doc)}});
  return doc;
}

json read_config_document(const fs::path& path, std::string* file_name) {
  fs::path file = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::is_regular_file(path / "config.json", ec))
      file = path / "config.json";
    else if (fs::is_regular_file(path / "model_config.json", ec))
      file = path / "model_config.json";
    else
      throw Error(path.string() + ": no config.json or model_config.json in this folder");
  }
  if (!fs::exists(file, ec)) throw Error(file.string() + ": no such file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(file.string() + ": read failed");
  if (file_name) *file_name = file.string();
  return parse_config_document(ss.str(), file.string());
}

}  // namespace ernie::config_detail

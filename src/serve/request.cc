#include "serve/request.h"

#include "tokenizer/unicode.h"

namespace ernie::serve {

using nlohmann::json;

std::string error_body(const std::string& message, const std::string& type) {
  return json{{"error", message}, {"error_type", type}}.dump(-1, ' ', false, json::error_handler_t::replace);
}


size_t count_code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

json parse_body(const std::string& body) {
  const size_t bad = tokenizer::invalid_utf8_at(body);
  if (bad != std::string::npos)
    throw ApiError(422, "tokenizer", "the request body is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 2: ...",
    // or out_of_range.406 for a number beyond double ("number overflow parsing '1e999'")
    std::string what = e.what();
    if (what.find("surrogate") != std::string::npos)   // "\ud800" alone: JSON, but not Unicode text
      throw ApiError(422, "tokenizer", "the request holds an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF)");
    const size_t at = what.find("] ");
    throw ApiError(400, "invalid_json",
                   "the request body is not JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
  if (!j.is_object()) throw ApiError(422, "validation", "the request body must be a JSON object");
  return j;
}

bool get_bool(const json& body, const char* key, bool fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw ApiError(422, "validation", std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

std::string get_string(const json& body, const char* key, const std::string& fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw ApiError(422, "validation", std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

namespace {

const json& inputs_of(const json& body) {
  const auto it = body.find("inputs");
  if (it == body.end()) throw ApiError(422, "validation", "missing field \"inputs\"");
  return *it;
}

[[noreturn]] void bad_inputs(const char* expected) {
  throw ApiError(422, "validation", std::string("\"inputs\" must be ") + expected);
}

}  // namespace

std::vector<Sequence> parse_predict_inputs(const json& body, bool* batch) {
  static const char* expected =
      "a string, a pair of strings [string, string] or a batch [string | [string] | [string, string], ...]";
  const json& in = inputs_of(body);
  std::vector<Sequence> out;
  *batch = false;
  if (in.is_string()) {
    out.push_back(Sequence{in.get<std::string>(), {}, false});
    return out;
  }
  if (!in.is_array()) bad_inputs(expected);
  if (in.empty()) throw ApiError(400, "empty", "\"inputs\" is an empty list");
  // TEI reads ["a", "b"] as one pair (serde tries a Sequence before a batch); any other list is a
  // batch whose items are a text or [text] or [text, text_pair].
  if (in.size() == 2 && in[0].is_string() && in[1].is_string()) {
    out.push_back(Sequence{in[0].get<std::string>(), in[1].get<std::string>(), true});
    return out;
  }
  *batch = true;
  for (const auto& item : in) {
    if (item.is_string()) {
      out.push_back(Sequence{item.get<std::string>(), {}, false});
      continue;
    }
    if (!item.is_array() || item.empty() || item.size() > 2) bad_inputs(expected);
    for (const auto& s : item)
      if (!s.is_string()) bad_inputs(expected);
    out.push_back(item.size() == 2 ? Sequence{item[0].get<std::string>(), item[1].get<std::string>(), true}
                                   : Sequence{item[0].get<std::string>(), {}, false});
  }
  return out;
}

std::vector<std::string> parse_text_inputs(const json& body, bool* batch) {
  static const char* expected = "a string or a list of strings";
  const json& in = inputs_of(body);
  std::vector<std::string> out;
  *batch = false;
  if (in.is_string()) {
    out.push_back(in.get<std::string>());
    return out;
  }
  if (!in.is_array()) bad_inputs(expected);
  if (in.empty()) throw ApiError(400, "empty", "\"inputs\" is an empty list");
  *batch = true;
  for (const auto& s : in) {
    if (!s.is_string()) bad_inputs(expected);
    out.push_back(s.get<std::string>());
  }
  return out;
}

void check_limits(const std::vector<Sequence>& inputs, size_t max_inputs, size_t max_chars) {
  if (inputs.size() > max_inputs)
    throw ApiError(413, "validation", "batch size " + std::to_string(inputs.size()) +
                                          " exceeds the limit of " + std::to_string(max_inputs) + " inputs per request");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const size_t chars = count_code_points(inputs[i].first) + count_code_points(inputs[i].second);
    if (chars > max_chars)
      throw ApiError(413, "validation", "input " + std::to_string(i) + " has " + std::to_string(chars) +
                                            " characters, more than the limit of " + std::to_string(max_chars));
  }
}

}  // namespace ernie::serve

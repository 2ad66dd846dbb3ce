// Request bodies of the TEI API -> validated inputs, and the JSON error answers.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ernie::serve {

// An answer other than 200: the HTTP status, TEI's error_type and a one-line message.
// Status/type pairs used: 400 invalid_json | empty, 401 unauthorized, 404 not_found,
// 413 validation (too large / too long / too many), 422 validation (wrong shape or type) |
// tokenizer (invalid UTF-8), 429 overloaded, 500 backend, 503 timeout | unhealthy.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;
};

// {"error": message, "error_type": type}
std::string error_body(const std::string& message, const std::string& type);

size_t count_code_points(std::string_view s);   // of valid UTF-8

// The body as a JSON object: invalid UTF-8 -> 422 tokenizer; not JSON -> 400 invalid_json;
// not an object -> 422 validation.
nlohmann::json parse_body(const std::string& body);

// An optional boolean/string member (422 validation when present with another type).
bool get_bool(const nlohmann::json& body, const char* key, bool fallback);
std::string get_string(const nlohmann::json& body, const char* key, const std::string& fallback);

// A text or a text pair.
struct Sequence {
  std::string first, second;
  bool pair = false;
};

// /predict's "inputs", TEI's rules: "text" | ["a", "b"] (one pair) | ["text"] (one text) |
// [["a"], ["a", "b"], ...] (a batch of texts and pairs). `*batch` tells whether the answer is a
// list of lists. Missing -> 422; empty list -> 400 empty; anything else -> 422 validation.
std::vector<Sequence> parse_predict_inputs(const nlohmann::json& body, bool* batch);
// /embed and /tokenize "inputs": "text" | ["text", ...] (same errors).
std::vector<std::string> parse_text_inputs(const nlohmann::json& body, bool* batch);

// Limits: more than max_inputs inputs, or an input (a pair's texts together) of more than
// max_chars characters -> 413 validation.
void check_limits(const std::vector<Sequence>& inputs, size_t max_inputs, size_t max_chars);

}  // namespace ernie::serve

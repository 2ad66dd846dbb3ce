// Shared by `ernie tokenize` and `ernie classify`: choosing a tokenizer from flags, reading
// '\n'-separated lines, and JSON string output.
#pragma once
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "ernie/tokenizer.h"

namespace ernie::cli {

struct TokenizerFlags {
  std::string vocab, model;   // exactly one
  bool no_lower_case = false;
  std::string strip_accents;  // "", "true", "false"
  bool split_special_tokens = false;
};

Tokenizer make_tokenizer(const TokenizerFlags& f);

// The whole of FILE, or stdin for "-".
std::string read_input(const std::string& path);
// Lines split on '\n' only (U+2028 and '\r' are text); no empty line after a final '\n'.
std::vector<std::string_view> split_lines(std::string_view text);
Utf8Errors parse_errors_flag(const std::string& value);

// Appends s as a JSON string; invalid UTF-8 bytes become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace ernie::cli

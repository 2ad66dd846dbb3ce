#include "cli/tokenizer_io.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "ernie/error.h"

namespace ernie::cli {

Tokenizer make_tokenizer(const TokenizerFlags& f) {
  if (f.vocab.empty() == f.model.empty()) throw Error("give exactly one of --vocab FILE or --model DIR");
  Tokenizer base = f.model.empty() ? Tokenizer::from_vocab_file(f.vocab) : Tokenizer::from_folder(f.model);
  TokenizerOptions o = base.options();
  if (f.no_lower_case) o.lowercase = false;
  if (f.strip_accents == "true") o.strip_accents = true;
  else if (f.strip_accents == "false") o.strip_accents = false;
  else if (!f.strip_accents.empty()) throw Error("--strip-accents must be true or false");
  o.split_special_tokens = f.split_special_tokens;
  return Tokenizer(base.vocab(), o);
}

std::string read_input(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path);
    ss << in.rdbuf();
  }
  return ss.str();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

Utf8Errors parse_errors_flag(const std::string& value) {
  if (value == "strict") return Utf8Errors::Strict;
  if (value == "replace") return Utf8Errors::Replace;
  throw Error("--errors must be strict or replace");
}

void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Copy a valid multi-byte sequence; anything else becomes U+FFFD.
      int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (int k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (ok) {
        out.append(s.substr(i, static_cast<size_t>(len)));
        i += static_cast<size_t>(len) - 1;
      } else {
        out += "\xEF\xBF\xBD";
      }
    }
  }
  out += '"';
}

}  // namespace ernie::cli

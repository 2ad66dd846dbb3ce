// Vocab files: one token per line, or token<TAB>id. See include/ernie/vocab.h for the rules.
#include "ernie/vocab.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "ernie/atomic_file.h"
#include "ernie/error.h"

namespace ernie {

namespace {

// "token<TAB>digits": the ERNIE format. Returns false for anything else.
bool split_tab_line(std::string_view line, std::string_view& token, int64_t& id) {
  const size_t tab = line.rfind('\t');
  if (tab == std::string_view::npos || tab + 1 == line.size()) return false;
  std::string_view digits = line.substr(tab + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || p != digits.data() + digits.size() || id < 0) return false;
  token = line.substr(0, tab);
  return true;
}

}  // namespace

void Vocab::add(std::string token, int32_t id) {
  if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(static_cast<size_t>(id) + 1);
  tokens_[static_cast<size_t>(id)] = token;
  ids_[std::move(token)] = id;   // a later duplicate wins
}

Vocab Vocab::parse(std::string_view text, const std::string& name) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  if (lines.empty()) throw Error(name + ": the vocabulary is empty");

  Vocab v;
  std::string_view token;
  int64_t id = 0;
  // The first line decides the format; a tab file must be consistent.
  const bool tab_format = split_tab_line(lines[0], token, id);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!tab_format) {
      v.add(std::string(lines[i]), static_cast<int32_t>(i));
      continue;
    }
    if (lines[i].empty() && i + 1 == lines.size()) break;
    if (!split_tab_line(lines[i], token, id))
      throw Error(name + ": line " + std::to_string(i + 1) + " is not 'token<TAB>id' like the first line");
    // Ids are dense in real files; a huge id would only allocate a huge table.
    if (id > static_cast<int64_t>(lines.size()) + 65536)
      throw Error(name + ": line " + std::to_string(i + 1) + ": id " + std::to_string(id) +
                  " is far beyond the number of lines (" + std::to_string(lines.size()) + ")");
    v.add(std::string(token), static_cast<int32_t>(id));
  }
  return v;
}

Vocab Vocab::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read vocabulary " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file.string());
}

Vocab Vocab::from_tokens(const std::vector<std::string>& tokens) {
  Vocab v;
  for (size_t i = 0; i < tokens.size(); ++i) v.add(tokens[i], static_cast<int32_t>(i));
  return v;
}

void Vocab::save(const std::filesystem::path& file) const {
  std::string text;
  for (const auto& t : tokens_) text += t + '\n';
  write_file_atomic(file, text);
}

}  // namespace ernie

// A WordPiece vocabulary: token <-> id. Reads both formats found in the wild: one token per line
// (HF, PaddleNLP; id = line number) and "token<TAB>id" (the original ERNIE repositories).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ernie {

class Vocab {
 public:
  Vocab() = default;
  // Lines are split on '\n' only (bert-base-chinese has U+2028 as a token); a trailing '\r' is
  // dropped and a missing final newline tolerated. A duplicate token maps to its last id, as in
  // HF and PaddleNLP. Throws ernie::Error naming the file and line for malformed input.
  static Vocab load(const std::filesystem::path& file);
  static Vocab parse(std::string_view text, const std::string& name = "vocab");
  // ids = positions in `tokens` (duplicates: last wins).
  static Vocab from_tokens(const std::vector<std::string>& tokens);

  // -1 when absent.
  int32_t id(std::string_view token) const {
    auto it = ids_.find(token);
    return it == ids_.end() ? -1 : it->second;
  }
  bool contains(std::string_view token) const { return ids_.count(token) != 0; }
  // "" for ids that no line names (possible with token<TAB>id files).
  const std::string& token(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  // One more than the largest id.
  size_t size() const { return tokens_.size(); }
  // Distinct tokens.
  size_t entries() const { return ids_.size(); }
  const std::vector<std::string>& tokens() const { return tokens_; }

  // Writes one token per line (id = line number).
  void save(const std::filesystem::path& file) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  void add(std::string token, int32_t id);

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

}  // namespace ernie

#include "tokenizer/wordpiece.h"

#include <algorithm>

#include "ernie/error.h"

namespace ernie::tokenizer {

WordPiece::WordPiece(const Vocab& vocab, const TokenizerOptions& o)
    : unk_(vocab.id(o.unk_token)), max_chars_(o.max_input_chars_per_word) {
  if (unk_ < 0) throw Error("the vocabulary has no unknown token '" + o.unk_token + "'");
  const std::string& prefix = o.continuing_subword_prefix;
  // Walk ids in order so that a duplicate token keeps the id the vocab maps it to.
  for (const std::string& t : vocab.tokens()) {
    const int32_t id = vocab.id(t);
    if (id < 0 || t.empty()) continue;
    first_[t] = id;
    first_max_ = std::max(first_max_, t.size());
    if (t.size() > prefix.size() && t.compare(0, prefix.size(), prefix) == 0) {
      cont_[t.substr(prefix.size())] = id;
      cont_max_ = std::max(cont_max_, t.size() - prefix.size());
    }
  }
}

void WordPiece::encode_word(const NormChar* chars, size_t n, std::vector<Piece>& out) const {
  if (n == 0) return;
  if (n > max_chars_) {
    out.push_back(Piece{unk_, chars[0].begin, chars[n - 1].end});
    return;
  }
  thread_local std::string text;
  thread_local std::vector<uint32_t> pos;   // byte position of each char in `text`, plus the end
  text.clear();
  pos.clear();
  char buf[4];
  for (size_t i = 0; i < n; ++i) {
    pos.push_back(static_cast<uint32_t>(text.size()));
    text.append(buf, static_cast<size_t>(utf8_encode(chars[i].c, buf)));
  }
  pos.push_back(static_cast<uint32_t>(text.size()));

  const size_t first_piece = out.size();
  size_t start = 0;
  while (start < n) {
    const Map& map = start == 0 ? first_ : cont_;
    const size_t max_bytes = start == 0 ? first_max_ : cont_max_;
    size_t end = n;
    while (end > start && pos[end] - pos[start] > max_bytes) --end;
    int32_t id = -1;
    for (; end > start; --end) {
      id = find(map, std::string_view(text).substr(pos[start], pos[end] - pos[start]));
      if (id >= 0) break;
    }
    if (id < 0) {   // the rest cannot be matched: the whole word is unknown
      out.resize(first_piece);
      out.push_back(Piece{unk_, chars[0].begin, chars[n - 1].end});
      return;
    }
    out.push_back(Piece{id, chars[start].begin, chars[end - 1].end});
    start = end;
  }
}

}  // namespace ernie::tokenizer

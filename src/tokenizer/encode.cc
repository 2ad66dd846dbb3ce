// Word pieces -> encodings: truncation into windows, [CLS] A [SEP] (B [SEP]), padding on either
// side, and decoding back to text. Semantics follow HF tokenizers (Encoding::truncate,
// truncate_encodings, BertProcessing, Encoding::merge_with, Encoding::pad, the WordPiece decoder).
#include <algorithm>

#include "ernie/error.h"
#include "ernie/tokenizer.h"

namespace ernie {

namespace {

// HF's truncate_encodings for a pair under LongestFirst: the shorter keeps what it can.
void longest_first(size_t max, size_t& n1, size_t& n2) {
  size_t a = n1, b = n2;
  const bool swap = a > b;
  if (swap) std::swap(a, b);
  b = a > max ? a : std::max(a, max - a);
  if (a + b > max) {
    a = max / 2;
    b = a + max % 2;
  }
  if (swap) std::swap(a, b);
  n1 = std::min(n1, a);
  n2 = std::min(n2, b);
}

using Window = std::pair<size_t, size_t>;   // [begin, end) of a piece sequence

// HF's Encoding::truncate(keep, stride, side): the kept window first, then the overflowing ones,
// each `keep` long and overlapping the previous by `stride`.
std::vector<Window> windows(size_t n, size_t keep, size_t stride, Side side) {
  if (keep >= n) return {{0, n}};
  if (keep == 0) return {{0, 0}, {0, n}};
  if (stride >= keep)
    throw Error("stride " + std::to_string(stride) + " must be smaller than the " + std::to_string(keep) +
                " tokens left for the truncated sequence");
  const size_t step = keep - stride;
  std::vector<Window> out;
  if (side == Side::Right) {
    for (size_t begin = 0; begin < n; begin += step) {
      const size_t end = std::min(begin + keep, n);
      out.emplace_back(begin, end);
      if (end == n) break;
    }
  } else {
    for (size_t last = n; last > 0;) {   // windows end at n, n - step, ...
      const size_t begin = last < keep ? 0 : last - keep;
      out.emplace_back(begin, last);
      if (begin == 0 || last <= step) break;
      last -= step;
    }
  }
  return out;
}

}  // namespace

Encoding Tokenizer::join(const Piece* a, size_t na, const Piece* b, size_t nb, bool pair, const EncodeOptions& o) const {
  Encoding e;
  const size_t n = na + nb + (o.add_special_tokens ? (pair ? 3 : 2) : 0);
  e.ids.reserve(n);
  e.type_ids.reserve(n);
  e.offsets.reserve(n);
  auto special = [&](int32_t id, int32_t type) {
    e.ids.push_back(id);
    e.type_ids.push_back(type);
    e.special_tokens_mask.push_back(1);
    e.sequence_ids.push_back(-1);
    e.word_ids.push_back(-1);
    e.offsets.emplace_back(0, 0);
  };
  auto pieces = [&](const Piece* ps, size_t count, int32_t type) {
    for (size_t i = 0; i < count; ++i) {
      e.ids.push_back(ps[i].id);
      e.type_ids.push_back(type);
      e.special_tokens_mask.push_back(0);
      e.sequence_ids.push_back(static_cast<int8_t>(type));
      e.word_ids.push_back(static_cast<int32_t>(ps[i].word));
      e.offsets.emplace_back(ps[i].begin, ps[i].end);
    }
  };
  if (o.add_special_tokens) special(cls_id_, 0);
  pieces(a, na, 0);
  if (o.add_special_tokens) special(sep_id_, 0);
  if (pair) {
    pieces(b, nb, 1);
    if (o.add_special_tokens) special(sep_id_, 1);
  }
  e.attention_mask.assign(e.ids.size(), 1);
  if (o.padding == Padding::MaxLength && o.max_length > 0) pad(e, o.max_length, o.padding_side);
  if (o.pad_to_multiple_of > 0 && o.padding != Padding::None) {
    const size_t m = o.pad_to_multiple_of;
    pad(e, (e.size() + m - 1) / m * m, o.padding_side);
  }
  return e;
}

std::vector<Encoding> Tokenizer::assemble(const std::vector<Piece>& a, const std::vector<Piece>* b_in,
                                          const EncodeOptions& o, bool all_windows) const {
  static const std::vector<Piece> kNone;
  const std::vector<Piece>& b = b_in ? *b_in : kNone;
  const bool pair = b_in != nullptr;
  const size_t added = o.add_special_tokens ? (pair ? 3 : 2) : 0;
  if (o.add_special_tokens && (cls_id_ < 0 || sep_id_ < 0))
    throw Error("the vocabulary lacks '" + opts_.cls_token + "' or '" + opts_.sep_token + "'");
  std::vector<Window> wa{{0, a.size()}}, wb{{0, b.size()}};
  if (o.max_length > 0) {
    if (o.max_length < added)
      throw Error("max length " + std::to_string(o.max_length) + " is shorter than the " + std::to_string(added) +
                  " special tokens");
    const size_t max = o.max_length - added;
    const size_t total = a.size() + b.size();
    if (total > max) {
      const size_t remove = total - max;
      if (o.truncation == Truncation::LongestFirst) {
        size_t n1 = a.size(), n2 = b.size();
        if (pair)
          longest_first(max, n1, n2);
        else
          n1 = max;
        wa = windows(a.size(), n1, o.stride, o.truncation_side);
        wb = windows(b.size(), n2, o.stride, o.truncation_side);
      } else {
        if (o.truncation == Truncation::OnlySecond && !pair)
          throw Error("truncation only_second needs a pair of texts");
        const bool first = o.truncation == Truncation::OnlyFirst;
        const size_t len = first ? a.size() : b.size();
        if (len <= remove)
          throw Error("the sequence to truncate is too short to respect max length " + std::to_string(o.max_length));
        (first ? wa : wb) = windows(len, len - remove, o.stride, o.truncation_side);
      }
    }
  }
  std::vector<Encoding> out;
  auto add = [&](const Window& x, const Window& y) {
    out.push_back(join(a.data() + x.first, x.second - x.first, b.data() + y.first, y.second - y.first, pair, o));
  };
  add(wa[0], wb[0]);
  if (!all_windows) return out;
  // HF's Encoding::merge_with order: every overflow of A with B's windows, then A's first with B's overflows.
  for (size_t i = 1; i < wa.size(); ++i)
    for (size_t j = 0; j < wb.size(); ++j) add(wa[i], wb[j]);
  for (size_t j = 1; j < wb.size(); ++j) add(wa[0], wb[j]);
  if (o.padding == Padding::Longest && out.size() > 1) {
    size_t longest = 0;
    for (const auto& e : out) longest = std::max(longest, e.size());
    for (auto& e : out) pad(e, longest, o.padding_side);
  }
  return out;
}

void Tokenizer::pad(Encoding& e, size_t length, Side side) const {
  if (e.ids.size() >= length) return;
  const size_t n = length - e.ids.size();
  const auto at = [&](auto& v) { return side == Side::Right ? v.end() : v.begin(); };
  e.ids.insert(at(e.ids), n, pad_id_);
  e.type_ids.insert(at(e.type_ids), n, 0);
  e.attention_mask.insert(at(e.attention_mask), n, 0);
  e.special_tokens_mask.insert(at(e.special_tokens_mask), n, 1);
  e.sequence_ids.insert(at(e.sequence_ids), n, -1);
  e.word_ids.insert(at(e.word_ids), n, -1);
  e.offsets.insert(at(e.offsets), n, {0, 0});
}

// Padding::Longest: every encoding padded to the batch's longest (rounded up to pad_to_multiple_of).
void Tokenizer::pad_batch(std::vector<Encoding>& out, const EncodeOptions& o) const {
  if (o.padding != Padding::Longest) return;
  size_t longest = 0;
  for (const auto& e : out) longest = std::max(longest, e.size());
  if (o.pad_to_multiple_of > 0) longest = (longest + o.pad_to_multiple_of - 1) / o.pad_to_multiple_of * o.pad_to_multiple_of;
  for (auto& e : out) pad(e, longest, o.padding_side);
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& o) const {
  return std::move(assemble(tokenize(text, o.utf8_errors), nullptr, o, false).front());
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b, const EncodeOptions& o) const {
  const std::vector<Piece> pb = tokenize(b, o.utf8_errors);
  return std::move(assemble(tokenize(a, o.utf8_errors), &pb, o, false).front());
}

std::vector<Encoding> Tokenizer::encode_windows(std::string_view text, const EncodeOptions& o) const {
  return assemble(tokenize(text, o.utf8_errors), nullptr, o, true);
}

std::vector<Encoding> Tokenizer::encode_pair_windows(std::string_view a, std::string_view b, const EncodeOptions& o) const {
  const std::vector<Piece> pb = tokenize(b, o.utf8_errors);
  return assemble(tokenize(a, o.utf8_errors), &pb, o, true);
}

std::vector<std::pair<uint32_t, uint32_t>> Encoding::char_offsets(std::string_view a, std::string_view b) const {
  // Code point index of every byte position (continuation bytes never start or end a span).
  auto prefix = [](std::string_view s) {
    std::vector<uint32_t> idx(s.size() + 1);
    uint32_t chars = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      idx[i] = chars;
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++chars;
    }
    idx[s.size()] = chars;
    return idx;
  };
  const auto pa = prefix(a), pb = prefix(b);
  std::vector<std::pair<uint32_t, uint32_t>> out(offsets.size(), {0, 0});
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (sequence_ids[i] < 0) continue;
    const auto& p = sequence_ids[i] == 0 ? pa : pb;
    const auto [s, e] = offsets[i];
    if (e < p.size()) out[i] = {p[s], p[e]};
  }
  return out;
}

bool Tokenizer::is_special_id(int32_t id) const {
  return std::any_of(specials_.begin(), specials_.end(), [&](const auto& s) { return s.second == id; });
}

std::vector<std::string> Tokenizer::convert_ids_to_tokens(const std::vector<int32_t>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int32_t id : ids)
    out.push_back(id >= 0 && static_cast<size_t>(id) < vocab_.size() ? vocab_.token(id) : opts_.unk_token);
  return out;
}

namespace {

// Python's str.replace: every non-overlapping occurrence, left to right.
std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t at; (at = s.find(from, pos)) != std::string::npos; pos = at + from.size()) {
    out.append(s, pos, at - pos);
    out.append(to);
  }
  out.append(s, pos, std::string::npos);
  return out;
}

using Rules = std::vector<std::pair<std::string_view, std::string_view>>;
// HF tokenizers' wordpiece::cleanup, applied by the decoder to each token.
const Rules kDecoderCleanup = {{" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},
                               {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"},
                               {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
// transformers' PreTrainedTokenizerBase.clean_up_tokenization, applied to the whole text.
const Rules kCleanUpSpaces = {{" .", "."},  {" ?", "?"},     {" !", "!"},   {" ,", ","}, {" ' ", "'"},
                              {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};

std::string apply(std::string s, const Rules& rules) {
  for (const auto& [from, to] : rules)
    if (s.find(from) != std::string::npos) s = replace_all(s, from, to);
  return s;
}

}  // namespace

std::string Tokenizer::convert_tokens_to_string(const std::vector<std::string>& tokens) const {
  std::string out, token;
  const std::string& prefix = opts_.continuing_subword_prefix;
  for (size_t i = 0; i < tokens.size(); ++i) {
    token = tokens[i];
    if (i > 0) {
      if (!prefix.empty() && token.compare(0, prefix.size(), prefix) == 0)
        token.erase(0, prefix.size());
      else
        token.insert(0, 1, ' ');
    }
    out += apply(std::move(token), kDecoderCleanup);
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens,
                              bool clean_up_tokenization_spaces) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) continue;
    if (skip_special_tokens && is_special_id(id)) continue;
    tokens.push_back(vocab_.token(id));
  }
  std::string out = convert_tokens_to_string(tokens);
  return clean_up_tokenization_spaces ? apply(std::move(out), kCleanUpSpaces) : out;
}

}  // namespace ernie

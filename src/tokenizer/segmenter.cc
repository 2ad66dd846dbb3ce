// jieba 0.42's `cut(text, HMM=False)` on UTF-8 text. Each rule below names the jieba function
// (jieba/__init__.py) it reproduces; the numbers agree with Python's because the same double
// operations run in the same order on the same libm log().
#include "ernie/segmenter.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <sstream>

#include "ernie/error.h"
#include "tokenizer/unicode.h"

namespace ernie {

namespace {

constexpr uint64_t kFnvBasis = 1469598103934665603ull, kFnvPrime = 1099511628211ull;

// FNV-1a: byte by byte, so the DAG scan extends one fragment's hash instead of rehashing it.
inline uint64_t fnv(uint64_t h, const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(s[i])) * kFnvPrime;
  return h;
}

// Table index of a hash (multiplied so that the low bits depend on all of it).
inline size_t slot_of(uint64_t h, size_t mask) {
  const uint64_t m = h * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(m ^ (m >> 32)) & mask;
}

// re_han_default = [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]: the characters that go through the DAG.
inline bool is_han_block(char32_t c) {
  if (c >= 0x4E00 && c <= 0x9FD5) return true;
  if (c >= 0x80) return false;
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '#' ||
         c == '&' || c == '.' || c == '_' || c == '%' || c == '-';
}

// re_eng = [a-zA-Z0-9]: single characters that cut_DAG_NO_HMM glues into one token.
inline bool is_eng(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// bytes.strip(): what jieba strips from each dictionary line before decoding it.
std::string_view strip_ascii_space(std::string_view s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

bool parse_freq(std::string_view s, int64_t& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);   // int() accepts a plus sign
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && s[0] != '-' && ec == std::errc() && p == s.data() + s.size();
}

std::string read_all(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot read ") + what + " " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Iterates '\n'-separated lines (Python's binary file iteration) with their 1-based numbers.
template <class F>
void for_lines(std::string_view text, F&& f) {
  size_t lineno = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    f(text.substr(pos, nl - pos), ++lineno);
    pos = nl + 1;
  }
}

std::string quoted(std::string_view line) {
  return "'" + std::string(line.substr(0, 80)) + (line.size() > 80 ? "...'" : "'");
}

}  // namespace

Segmenter::Segmenter() : slots_(1024, 0) {}

const Segmenter::Entry* Segmenter::find(uint64_t hash, const char* s, size_t n) const {
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = hash >> 32;
  for (size_t i = slot_of(hash, mask);; i = (i + 1) & mask) {
    const uint64_t slot = slots_[i];
    if (slot == 0) return nullptr;
    if ((slot >> 32) != tag) continue;
    const Entry& e = entries_[(slot & 0xFFFFFFFFu) - 1];
    if (e.len == n && std::char_traits<char>::compare(keys_.data() + e.off, s, n) == 0) return &e;
  }
}

void Segmenter::grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    const Entry& e = entries_[(slot & 0xFFFFFFFFu) - 1];
    const uint64_t h = fnv(kFnvBasis, keys_.data() + e.off, e.len);
    size_t i = slot_of(h, mask);
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void Segmenter::set(std::string_view key, int64_t freq, bool only_if_absent) {
  const uint64_t h = fnv(kFnvBasis, key.data(), key.size());
  if (const Entry* e = find(h, key.data(), key.size())) {
    if (!only_if_absent) {
      Entry& m = entries_[static_cast<size_t>(e - entries_.data())];
      m.freq = freq;
      m.logf = std::log(static_cast<double>(freq > 0 ? freq : 1));
    }
    return;
  }
  if ((count_ + 1) * 2 > slots_.size()) grow();   // load factor at most 1/2
  if (keys_.size() + key.size() > 0xFFFFFFFFu) throw Error("segmenter: the dictionary exceeds 4 GiB of words");
  entries_.push_back({static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(key.size()), freq,
                      std::log(static_cast<double>(freq > 0 ? freq : 1))});
  keys_.append(key);
  const size_t mask = slots_.size() - 1;
  size_t i = slot_of(h, mask);
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = (h >> 32 << 32) | entries_.size();
  ++count_;
}

int64_t Segmenter::frequency(std::string_view word) const {
  const Entry* e = find(fnv(kFnvBasis, word.data(), word.size()), word.data(), word.size());
  return e ? e->freq : -1;
}

size_t Segmenter::memory_bytes() const {
  return keys_.capacity() + entries_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(uint64_t);
}

// jieba's add_word (and gen_pfdict's loop body): the word's frequency is replaced but the
// total only grows (a duplicate line counts twice in jieba's total too); every code-point
// prefix not yet known gets frequency 0, so the DAG scan can stop at the first unknown one.
void Segmenter::add_word(std::string_view word, std::optional<int64_t> freq) {
  if (word.empty()) throw Error("segmenter: cannot add an empty word");
  if (const size_t bad = tokenizer::invalid_utf8_at(word); bad != std::string_view::npos)
    throw Error("segmenter: the word to add has invalid UTF-8 at byte " + std::to_string(bad));
  if (!freq) {
    // suggest_freq(word): the product of P(piece) over the word's current segmentation,
    // FREQ.get(piece, 1) / total each, scaled back by total, plus one; at least FREQ.get(word, 1).
    const double ftotal = static_cast<double>(total_ > 0 ? total_ : 1);   // jieba divides by zero
    double p = 1.0;
    for (const std::string& piece : cut(word)) {
      const int64_t f = frequency(piece);
      p *= static_cast<double>(f < 0 ? 1 : f) / ftotal;
    }
    const int64_t known = frequency(word);
    *freq = std::max(static_cast<int64_t>(p * static_cast<double>(total_)) + 1, known < 0 ? 1 : known);
  }
  if (*freq < 0 || *freq > INT64_MAX - total_)
    throw Error("segmenter: frequency " + std::to_string(*freq) + " of '" + std::string(word) + "' is negative or overflows the total");
  set(word, *freq, false);
  total_ += *freq;
  log_total_ = std::log(static_cast<double>(total_ > 0 ? total_ : 1));   // jieba fails on an empty total
  const auto* p = reinterpret_cast<const unsigned char*>(word.data());
  char32_t c;
  for (size_t i = 0; i < word.size();) {
    i += static_cast<size_t>(tokenizer::utf8_decode(p, i, word.size(), c));
    if (i < word.size()) set(word.substr(0, i), 0, true);
  }
}

// gen_pfdict: `word, freq = line.strip().split(' ')[:2]`, freq an integer; the tag is ignored.
Segmenter Segmenter::parse(std::string_view text, const std::string& name) {
  Segmenter s;
  for_lines(text, [&](std::string_view raw, size_t lineno) {
    const std::string_view line = strip_ascii_space(raw);
    if (line.empty()) return;
    auto fail = [&](const std::string& why) {
      throw Error(name + ":" + std::to_string(lineno) + ": " + why + " in " + quoted(line) + " (expected 'word freq [tag]')");
    };
    if (const size_t bad = tokenizer::invalid_utf8_at(line); bad != std::string_view::npos)
      throw Error(name + ":" + std::to_string(lineno) + ": invalid UTF-8 at byte " + std::to_string(bad));
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) fail("no frequency");
    std::string_view f = line.substr(sp + 1);
    f = f.substr(0, f.find(' '));
    int64_t freq = 0;
    if (!parse_freq(f, freq)) fail("frequency '" + std::string(f) + "' is not a non-negative integer");
    if (freq > INT64_MAX - s.total_) fail("the total frequency overflows 64 bits");
    s.add_word(line.substr(0, sp), freq);
  });
  return s;
}

Segmenter Segmenter::from_file(const std::filesystem::path& path) {
  return parse(read_all(path, "dictionary"), path.string());
}

Segmenter Segmenter::from_jieba_default() {
  std::error_code ec;
  if (!std::filesystem::exists(kJiebaDictPath, ec))
    throw Error(std::string("jieba's dictionary is not at ") + kJiebaDictPath +
                ": install Debian's python3-jieba (apt-get install python3-jieba) or give a dictionary file");
  return from_file(kJiebaDictPath);
}

// load_userdict: after strip() and dropping leading BOMs, `^(.+?)( [0-9]+)?( [a-z]+)?$`. The
// lazy word leaves the longest suffix to the optional groups, so they are peeled from the right,
// each only when the word stays non-empty.
void Segmenter::load_user_dict(const std::filesystem::path& path) {
  const std::string text = read_all(path, "user dictionary");
  for_lines(text, [&](std::string_view raw, size_t lineno) {
    std::string_view line = strip_ascii_space(raw);
    if (const size_t bad = tokenizer::invalid_utf8_at(line); bad != std::string_view::npos)
      throw Error(path.string() + ":" + std::to_string(lineno) + ": invalid UTF-8 at byte " + std::to_string(bad));
    while (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (line.empty()) return;
    auto peel = [&](bool (*in_class)(char)) -> std::string_view {
      size_t i = line.size();
      while (i > 0 && in_class(line[i - 1])) --i;
      if (i == line.size() || i < 2 || line[i - 1] != ' ') return {};
      const std::string_view field = line.substr(i);
      line = line.substr(0, i - 1);
      return field;
    };
    peel([](char c) { return c >= 'a' && c <= 'z'; });   // the tag, unused here
    const std::string_view digits = peel([](char c) { return c >= '0' && c <= '9'; });
    int64_t freq = 0;
    if (!digits.empty() && !parse_freq(digits, freq))
      throw Error(path.string() + ":" + std::to_string(lineno) + ": frequency " + std::string(digits) + " is too large");
    add_word(line, digits.empty() ? std::nullopt : std::optional<int64_t>(freq));
  });
}

// One re_han block: get_DAG + calc + __cut_DAG_NO_HMM. The DAG is not stored: calc walks from
// the end, and the candidate ends of position k are found by extending text[k..i] while it is a
// known prefix (get_DAG's `while i < N and frag in FREQ`), keeping those with freq > 0.
void Segmenter::cut_block(std::string_view block, std::vector<std::string_view>& out) const {
  thread_local std::vector<uint32_t> pos, to;
  thread_local std::vector<double> score;
  pos.clear();
  for (size_t i = 0; i < block.size(); i += static_cast<unsigned char>(block[i]) < 0x80 ? 1 : 3)
    pos.push_back(static_cast<uint32_t>(i));   // a han block holds ASCII and 3-byte U+4E00..U+9FD5 only
  const size_t n = pos.size();
  pos.push_back(static_cast<uint32_t>(block.size()));
  score.assign(n + 1, 0.0);   // route[N] = (0, 0)
  to.assign(n + 1, 0);
  const char* s = block.data();
  for (size_t k = n; k-- > 0;) {
    uint64_t h = kFnvBasis;
    double best = -INFINITY;
    size_t best_x = k;
    bool found = false;
    for (size_t i = k; i < n; ++i) {
      h = fnv(h, s + pos[i], pos[i + 1] - pos[i]);
      const Entry* e = find(h, s + pos[k], pos[i + 1] - pos[k]);
      if (!e) break;
      if (e->freq == 0) continue;
      // max over (logprob, x) tuples: on equal logprob the larger x wins, hence >=.
      const double v = e->logf - log_total_ + score[i + 1];
      if (v >= best) best = v, best_x = i, found = true;
    }
    // No word starts here: the single character alone, with FREQ.get(c) or 1 = 1, log 1 = 0.
    if (!found) best = 0.0 - log_total_ + score[k + 1];
    score[k] = best;
    to[k] = static_cast<uint32_t>(best_x);
  }
  // Single ASCII letters/digits on the route are glued together (re_eng); all else is a word.
  size_t eng = n;   // start of the pending run, n = none
  for (size_t x = 0; x < n;) {
    const size_t y = to[x] + 1;
    if (y == x + 1 && is_eng(s[pos[x]])) {
      if (eng == n) eng = x;
    } else {
      if (eng != n) out.push_back(block.substr(pos[eng], pos[x] - pos[eng])), eng = n;
      out.push_back(block.substr(pos[x], pos[y] - pos[x]));
    }
    x = y;
  }
  if (eng != n) out.push_back(block.substr(pos[eng]));
}

// cut(): re_han_default splits the text into blocks. Outside them re_skip_default (\r\n|\s)
// splits again, and in the default mode every piece comes out one character at a time, so each
// character is a word of its own except "\r\n", which stays one.
void Segmenter::cut(std::string_view text, std::vector<std::string_view>& out) const {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t block = std::string_view::npos;   // start of the current han block
  char32_t c;
  for (size_t i = 0; i < text.size();) {
    const int len = tokenizer::utf8_decode(p, i, text.size(), c);
    if (len == 0) throw Error("segmenter: invalid UTF-8 at byte " + std::to_string(i));
    if (is_han_block(c)) {
      if (block == std::string_view::npos) block = i;
      i += static_cast<size_t>(len);
      continue;
    }
    if (block != std::string_view::npos) cut_block(text.substr(block, i - block), out), block = std::string_view::npos;
    const size_t w = c == '\r' && i + 1 < text.size() && text[i + 1] == '\n' ? 2 : static_cast<size_t>(len);
    out.push_back(text.substr(i, w));
    i += w;
  }
  if (block != std::string_view::npos) cut_block(text.substr(block), out);
}

std::vector<std::string> Segmenter::cut(std::string_view text) const {
  std::vector<std::string_view> views;
  cut(text, views);
  return std::vector<std::string>(views.begin(), views.end());
}

}  // namespace ernie

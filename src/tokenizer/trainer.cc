#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ernie/error.h"
#include "ernie/vocab_trainer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace ernie {

namespace {

struct PairKey {
  uint64_t v;
  static PairKey of(int32_t a, int32_t b) { return {(static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b)}; }
  int32_t first() const { return static_cast<int32_t>(v >> 32); }
  int32_t second() const { return static_cast<int32_t>(v & 0xffffffffu); }
};

}  // namespace

Vocab train_wordpiece(const std::vector<std::string_view>& texts, const VocabTrainOptions& o) {
  // 1. Word counts over the normalized, pre-tokenized corpus.
  const tokenizer::Normalizer norm(o.normalizer);
  tokenizer::Words words;
  std::unordered_map<std::string, uint64_t> word_counts;
  std::string w;
  char buf[4];
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      tokenizer::split_words(texts[i], 0, norm, o.utf8_errors, words);
    } catch (const Error& e) {
      throw Error("line " + std::to_string(i + 1) + ": " + e.what());
    }
    for (size_t k = 0; k < words.count(); ++k) {
      w.clear();
      for (uint32_t c = words.starts[k]; c < words.starts[k + 1]; ++c)
        w.append(buf, static_cast<size_t>(tokenizer::utf8_encode(words.chars[c].c, buf)));
      ++word_counts[w];
    }
  }

  // 2. The alphabet: the most frequent chars (limit_alphabet), each also as "##c".
  std::unordered_map<std::string, uint64_t> char_counts;
  for (const auto& [word, n] : word_counts) {
    for (size_t i = 0; i < word.size();) {
      size_t len = 1;
      while (i + len < word.size() && (static_cast<unsigned char>(word[i + len]) & 0xC0) == 0x80) ++len;
      char_counts[word.substr(i, len)] += n;
      i += len;
    }
  }
  std::vector<std::pair<std::string, uint64_t>> alphabet(char_counts.begin(), char_counts.end());
  std::sort(alphabet.begin(), alphabet.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (o.limit_alphabet > 0 && alphabet.size() > o.limit_alphabet) alphabet.resize(o.limit_alphabet);
  std::sort(alphabet.begin(), alphabet.end());

  std::vector<std::string> tokens;
  std::unordered_map<std::string, int32_t> ids;
  auto add = [&](const std::string& t) {
    auto [it, inserted] = ids.emplace(t, static_cast<int32_t>(tokens.size()));
    if (inserted) tokens.push_back(t);
    return it->second;
  };
  for (const auto& s : o.special_tokens) add(s);
  for (const auto& [c, n] : alphabet) add(c);
  for (const auto& [c, n] : alphabet) add("##" + c);

  // 3. Words as symbol sequences (chars outside the alphabet make a word untrainable).
  std::vector<std::vector<int32_t>> seqs;
  std::vector<uint64_t> counts;
  for (const auto& [word, n] : word_counts) {
    std::vector<int32_t> seq;
    bool ok = true;
    for (size_t i = 0; i < word.size() && ok;) {
      size_t len = 1;
      while (i + len < word.size() && (static_cast<unsigned char>(word[i + len]) & 0xC0) == 0x80) ++len;
      auto it = ids.find((i == 0 ? "" : "##") + word.substr(i, len));
      ok = it != ids.end();
      if (ok) seq.push_back(it->second);
      i += len;
    }
    if (ok && seq.size() > 1) {
      seqs.push_back(std::move(seq));
      counts.push_back(n);
    }
  }

  // 4. Merges: the most frequent pair wins (lazy max-heap, counts updated incrementally).
  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::unordered_set<size_t>> where;
  for (size_t s = 0; s < seqs.size(); ++s)
    for (size_t i = 0; i + 1 < seqs[s].size(); ++i) {
      const uint64_t k = PairKey::of(seqs[s][i], seqs[s][i + 1]).v;
      pair_counts[k] += static_cast<int64_t>(counts[s]);
      where[k].insert(s);
    }
  auto merged_name = [&](uint64_t k) {
    const PairKey p{k};
    const std::string& b = tokens[p.second()];
    return tokens[p.first()] + (b.rfind("##", 0) == 0 ? b.substr(2) : b);
  };
  using Entry = std::pair<int64_t, std::string>;   // (count, merged name) with its key alongside
  auto cmp = [](const std::pair<Entry, uint64_t>& a, const std::pair<Entry, uint64_t>& b) {
    if (a.first.first != b.first.first) return a.first.first < b.first.first;
    return a.first.second > b.first.second;   // ties: smaller name first
  };
  std::priority_queue<std::pair<Entry, uint64_t>, std::vector<std::pair<Entry, uint64_t>>, decltype(cmp)> heap(cmp);
  for (const auto& [k, n] : pair_counts) heap.push({{n, merged_name(k)}, k});

  while (tokens.size() < o.vocab_size && !heap.empty()) {
    auto [entry, k] = heap.top();
    heap.pop();
    const int64_t current = pair_counts.count(k) ? pair_counts[k] : 0;
    if (current != entry.first) {   // stale: requeue with its present count
      if (current > 0) heap.push({{current, entry.second}, k});
      continue;
    }
    if (current < static_cast<int64_t>(o.min_frequency)) break;
    const PairKey p{k};
    const int32_t a = p.first(), b = p.second();
    const int32_t m = ids.count(entry.second) ? ids[entry.second] : add(entry.second);
    const std::vector<size_t> affected(where[k].begin(), where[k].end());
    for (size_t s : affected) {
      auto& seq = seqs[s];
      const int64_t n = static_cast<int64_t>(counts[s]);
      std::set<uint64_t> touched;
      for (size_t i = 0; i + 1 < seq.size(); ++i) {   // remove this word's old pairs
        const uint64_t pk = PairKey::of(seq[i], seq[i + 1]).v;
        pair_counts[pk] -= n;
        touched.insert(pk);
      }
      std::vector<int32_t> next;
      for (size_t i = 0; i < seq.size(); ++i) {
        if (i + 1 < seq.size() && seq[i] == a && seq[i + 1] == b) {
          next.push_back(m);
          ++i;
        } else {
          next.push_back(seq[i]);
        }
      }
      seq.swap(next);
      for (uint64_t pk : touched) where[pk].erase(s);
      for (size_t i = 0; i + 1 < seq.size(); ++i) {   // and add the new ones
        const uint64_t pk = PairKey::of(seq[i], seq[i + 1]).v;
        pair_counts[pk] += n;
        where[pk].insert(s);
        touched.insert(pk);
      }
      for (uint64_t pk : touched)
        if (pair_counts[pk] > 0) heap.push({{pair_counts[pk], merged_name(pk)}, pk});
    }
    pair_counts.erase(k);
  }
  if (std::find(tokens.begin(), tokens.end(), o.normalizer.unk_token) == tokens.end())
    throw Error("the special tokens must include the unknown token '" + o.normalizer.unk_token + "'");
  return Vocab::from_tokens(tokens);
}

}  // namespace ernie

// Masking for masked-language-model pretraining (see ernie/masking.h for the rules' sources).
#include "ernie/masking.h"

#include <algorithm>
#include <cmath>

#include "ernie/error.h"
#include "ernie/rng.h"

namespace ernie {

MaskingKind parse_masking(const std::string& name) {
  if (name == "token") return MaskingKind::Token;
  if (name == "whole-word" || name == "wwm") return MaskingKind::WholeWord;
  if (name == "knowledge") return MaskingKind::Knowledge;
  throw Error("--masking must be token, whole-word or knowledge, not '" + name + "'");
}

std::vector<std::vector<int32_t>> masking_units(const Tokenizer& tok, const Encoding& enc, std::string_view text,
                                                MaskingKind kind, const Segmenter* segmenter,
                                                const std::vector<std::pair<int64_t, int64_t>>& spans,
                                                const std::vector<int32_t>& continuations) {
  const size_t L = enc.size();
  std::vector<char> continues(L, 0);
  for (int32_t i : continuations)
    if (i >= 0 && static_cast<size_t>(i) < L) continues[static_cast<size_t>(i)] = 1;
  // unit_of[i]: a key shared by the tokens of one unit (-1: not maskable).
  std::vector<int64_t> unit_of(L, -1);
  int64_t next = 0;
  const std::string& prefix = tok.options().continuing_subword_prefix;
  // Byte offset -> segmenter word index, and -> entity index.
  std::vector<int64_t> word_at, span_at;
  if (kind != MaskingKind::Token && segmenter) {
    word_at.assign(text.size() + 1, -1);
    std::vector<std::string_view> words;
    segmenter->cut(text, words);
    for (size_t w = 0; w < words.size(); ++w) {
      const size_t at = static_cast<size_t>(words[w].data() - text.data());
      for (size_t b = at; b < at + words[w].size(); ++b) word_at[b] = static_cast<int64_t>(w);
    }
  }
  if (kind == MaskingKind::Knowledge && !spans.empty()) {
    // Character spans -> byte positions.
    std::vector<size_t> byte_of;
    for (size_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of.push_back(i);
    byte_of.push_back(text.size());
    span_at.assign(text.size() + 1, -1);
    for (size_t s = 0; s < spans.size(); ++s) {
      const auto [a, b] = spans[s];
      if (a < 0 || b <= a || static_cast<size_t>(b) >= byte_of.size())
        throw Error("entity span [" + std::to_string(a) + ", " + std::to_string(b) + ") is outside the text");
      for (size_t k = byte_of[a]; k < byte_of[b]; ++k) span_at[k] = static_cast<int64_t>(s);
    }
  }
  int64_t prev_word = -2, prev_span = -2;
  for (size_t i = 0; i < L; ++i) {
    if (enc.special_tokens_mask[i] || !enc.attention_mask[i]) {
      prev_word = prev_span = -2;
      continue;
    }
    const std::string& t = tok.vocab().token(enc.ids[i]);
    const uint32_t begin = enc.offsets[i].first;
    const int64_t word = word_at.empty() ? -1 : word_at[begin];
    const int64_t span = span_at.empty() ? -1 : span_at[begin];
    bool joins = false;
    if (kind != MaskingKind::Token && i > 0 && unit_of[i - 1] >= 0) {
      joins = !prefix.empty() && t.size() > prefix.size() && t.compare(0, prefix.size(), prefix) == 0;
      joins = joins || continues[i] || (word >= 0 && word == prev_word) || (span >= 0 && span == prev_span);
    }
    unit_of[i] = joins ? unit_of[i - 1] : next++;
    prev_word = word;
    prev_span = span;
  }
  std::vector<std::vector<int32_t>> units(static_cast<size_t>(next));
  for (size_t i = 0; i < L; ++i)
    if (unit_of[i] >= 0) units[static_cast<size_t>(unit_of[i])].push_back(static_cast<int32_t>(i));
  return units;
}

std::vector<int32_t> mask_encoding(const Tokenizer& tok, Encoding& enc, const std::vector<std::vector<int32_t>>& units,
                                   const MaskingOptions& o, uint64_t epoch, uint64_t example) {
  const size_t L = enc.size();
  if (tok.mask_id() < 0) throw Error("the vocabulary has no mask token '" + tok.options().mask_token + "'");
  // One stream per (epoch, example); draws are indexed so each decision has its own number.
  const CounterRng rng(o.seed, (epoch << 40) ^ example);
  std::vector<char> chosen(L, 0);
  if (o.kind == MaskingKind::Token) {
    for (const auto& u : units)
      for (int32_t i : u)
        if (rng.uniform(static_cast<uint64_t>(i)) < o.mlm_probability) chosen[i] = 1;
  } else {
    // DataCollatorForWholeWordMask: shuffled units, taken whole while they fit in
    // round(tokens * p) (tokens counted with the specials, as the collator does), at least 1.
    std::vector<size_t> order(units.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    for (size_t k = order.size(); k > 1; --k) {   // Fisher-Yates from the stream
      const auto j = static_cast<size_t>(rng.uniform(1000000 + k) * static_cast<float>(k)) % k;
      std::swap(order[k - 1], order[j]);
    }
    const size_t tokens = static_cast<size_t>(std::count(enc.attention_mask.begin(), enc.attention_mask.end(), 1));
    const size_t budget = std::max<size_t>(1, static_cast<size_t>(std::lround(static_cast<double>(tokens) * o.mlm_probability)));
    size_t taken = 0;
    for (size_t k : order) {
      if (taken >= budget) break;
      if (taken + units[k].size() > budget) continue;
      for (int32_t i : units[k]) chosen[i] = 1;
      taken += units[k].size();
    }
  }
  std::vector<int32_t> labels(L, -100);
  const auto V = static_cast<uint64_t>(tok.vocab().size());
  for (size_t i = 0; i < L; ++i) {
    if (!chosen[i]) continue;
    labels[i] = enc.ids[i];
    const float r = rng.uniform(2000000 + i);
    if (r < o.mask_fraction) {
      enc.ids[i] = tok.mask_id();
    } else if (r < o.mask_fraction + o.random_fraction) {
      enc.ids[i] = static_cast<int32_t>(static_cast<uint64_t>(rng.uniform(3000000 + i) * static_cast<float>(V)) % V);
    }
  }
  return labels;
}

}  // namespace ernie

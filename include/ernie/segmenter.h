// A Chinese word segmenter that reproduces jieba 0.42's default mode with the HMM off,
// `jieba.cut(text, HMM=False)`: a prefix dictionary, the DAG of dictionary words over each
// block of text, and the maximum log-probability route through it. Used for whole-word masking.
// Rules and their sources in jieba: docs/TOKENIZER.md ("The word segmenter").
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ernie {

class Segmenter {
 public:
  // Where Debian's python3-jieba puts jieba's standard dictionary (349,046 words).
  static constexpr const char* kJiebaDictPath = "/usr/lib/python3/dist-packages/jieba/dict.txt";

  Segmenter();
  // A main dictionary in jieba's dict.txt format: one `word freq [tag]` per line, fields
  // separated by one space (jieba's gen_pfdict). A malformed line throws ernie::Error naming
  // file:line; blank lines are skipped (jieba rejects them).
  static Segmenter from_file(const std::filesystem::path& path);
  static Segmenter parse(std::string_view text, const std::string& name = "dictionary");
  // kJiebaDictPath; a one-line ernie::Error naming the path and the package when it is absent.
  static Segmenter from_jieba_default();

  // jieba's add_word: sets the word's frequency (adding it to the total) and makes its prefixes
  // known. Without freq, jieba's suggest_freq(word): just enough for the word to be cut whole.
  // Frequency 0 removes a word (jieba's del_word).
  void add_word(std::string_view word, std::optional<int64_t> freq = std::nullopt);
  // jieba's load_userdict: lines `word [freq] [tag]`; the word may contain spaces.
  void load_user_dict(const std::filesystem::path& path);

  // The words of text, in order; their concatenation is text. Invalid UTF-8 throws ernie::Error
  // naming the byte offset.
  std::vector<std::string> cut(std::string_view text) const;
  // The same words as views into text (no copies; out is replaced): what masking needs for offsets.
  void cut(std::string_view text, std::vector<std::string_view>& out) const;

  // The dictionary frequency of word: 0 when it is only a prefix of words, -1 when unknown.
  int64_t frequency(std::string_view word) const;
  int64_t total() const { return total_; }
  size_t entries() const { return count_; }   // words and prefixes
  size_t memory_bytes() const;

 private:
  struct Entry {
    uint32_t off, len;   // key bytes in keys_
    int64_t freq;
    double logf;         // log(freq or 1), as jieba's calc takes it
  };
  const Entry* find(uint64_t hash, const char* s, size_t n) const;
  void set(std::string_view key, int64_t freq, bool only_if_absent);
  void grow();
  void cut_block(std::string_view block, std::vector<std::string_view>& out) const;

  std::string keys_;              // all keys, back to back
  std::vector<Entry> entries_;
  std::vector<uint64_t> slots_;   // open addressing: (hash high 32 bits << 32) | (entry index + 1); 0 = empty
  size_t count_ = 0;
  int64_t total_ = 0;
  double log_total_ = 0;
};

}  // namespace ernie

// WordPiece tokenization exactly as Hugging Face tokenizers' BertTokenizerFast (BertNormalizer +
// BertPreTokenizer + WordPiece + BertProcessing) and PaddleNLP's ErnieTokenizer do it.
// Pipeline: vocab.h (ids) -> normalizer + pre-tokenizer (words with offsets) -> wordpiece -> encoder.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ernie/vocab.h"

namespace ernie {

namespace tokenizer { class WordPiece; }

struct TokenizerOptions {
  // BertNormalizer
  bool clean_text = true;               // drop NUL, U+FFFD and control chars; whitespace -> ' '
  bool handle_chinese_chars = true;     // spaces around CJK ideographs
  bool lowercase = true;                // do_lower_case
  std::optional<bool> strip_accents;    // NFD + drop Mn; unset: follows `lowercase`
  // WordPiece
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]";
  std::string pad_token = "[PAD]", mask_token = "[MASK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
  // Special tokens written in the text ("[MASK]") stay one token, as BertTokenizerFast loaded
  // with from_pretrained does; true treats them as plain text (HF's split_special_tokens).
  bool split_special_tokens = false;

  bool strips_accents() const { return strip_accents.value_or(lowercase); }
};

enum class Utf8Errors { Strict, Replace };   // Strict: throw; Replace: bad bytes act as U+FFFD
enum class Truncation { LongestFirst, OnlyFirst, OnlySecond };
enum class Padding { None, Longest, MaxLength };
enum class Side { Right, Left };   // where truncation cuts and padding goes (transformers' *_side)

struct EncodeOptions {
  bool add_special_tokens = true;             // [CLS] A [SEP] (B [SEP])
  size_t max_length = 0;                      // 0: no truncation; counts special tokens
  Truncation truncation = Truncation::LongestFirst;
  Padding padding = Padding::None;            // Longest applies to batches
  size_t pad_to_multiple_of = 0;
  Side truncation_side = Side::Right;
  Side padding_side = Side::Right;
  // Overlap, in tokens, between consecutive windows of a truncated sequence (encode_windows;
  // transformers' `stride` with return_overflowing_tokens). Must be below the room left for the
  // truncated sequence.
  size_t stride = 0;
  Utf8Errors utf8_errors = Utf8Errors::Strict;
};

// One token of a word-piece split: its id and the byte span in the original text it covers.
struct Piece {
  int32_t id;
  uint32_t begin, end;
  uint32_t word = 0;   // index of the pre-tokenizer word (or special token) it came from
};

struct Encoding {
  std::vector<int32_t> ids, type_ids, attention_mask, special_tokens_mask;
  std::vector<int8_t> sequence_ids;                  // 0 (A), 1 (B), -1 (special or pad)
  std::vector<int32_t> word_ids;                     // word within its own sequence; -1 for special or pad
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // byte offsets into its own text; (0,0) for specials
  size_t size() const { return ids.size(); }
  // Character (code point) offsets, as Python's transformers reports them.
  std::vector<std::pair<uint32_t, uint32_t>> char_offsets(std::string_view a, std::string_view b = {}) const;
};

class Tokenizer {
 public:
  Tokenizer(Vocab vocab, TokenizerOptions options);
  // A vocab file (one token per line or token<TAB>id) with the given options.
  static Tokenizer from_vocab_file(const std::filesystem::path& vocab, TokenizerOptions options = {});
  // An HF tokenizer.json (WordPiece + BertNormalizer/BertPreTokenizer; other models are refused).
  static Tokenizer from_tokenizer_json(const std::filesystem::path& file);
  // The same from the file's text; `name` is what error messages call it.
  static Tokenizer parse_tokenizer_json(std::string_view text, const std::string& name = "tokenizer.json");
  // A model folder: tokenizer.json if present, else vocab.txt + tokenizer_config.json
  // (do_lower_case, strip_accents, tokenize_chinese_chars, special tokens) when present.
  static Tokenizer from_folder(const std::filesystem::path& dir);
  // Writes vocab.txt and tokenizer_config.json (casing, accents, CJK, special tokens) into a
  // model folder, so that from_folder (and transformers' BertTokenizer) reads the same tokenizer.
  void save(const std::filesystem::path& dir) const;

  const Vocab& vocab() const { return vocab_; }
  const TokenizerOptions& options() const { return opts_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t mask_id() const { return vocab_.id(opts_.mask_token); }   // -1 when the vocabulary has none

  // The word pieces of one text, without special tokens added. Throws ernie::Error on invalid
  // UTF-8 (naming the byte offset) unless errors == Replace.
  void tokenize(std::string_view text, std::vector<Piece>& out, Utf8Errors errors = Utf8Errors::Strict) const;
  std::vector<Piece> tokenize(std::string_view text, Utf8Errors errors = Utf8Errors::Strict) const;

  Encoding encode(std::string_view text, const EncodeOptions& o = {}) const;
  Encoding encode_pair(std::string_view a, std::string_view b, const EncodeOptions& o = {}) const;
  // Pre-split words, as transformers' is_split_into_words (token classification, run_ner.py):
  // [CLS] pieces of words[0] .. pieces of words[n-1] [SEP], each word tokenized on its own, token
  // type 0, truncated and padded as encode() (o.max_length counts the specials; 0: no limit).
  // first_piece[w] = the token index of word w's first piece (the one that carries its tag), or -1
  // for a word that yields no piece (a control character) or was cut off. Offsets are byte spans
  // in the words joined by single spaces.
  Encoding encode_words(const std::vector<std::string>& words, const EncodeOptions& o,
                        std::vector<int64_t>& first_piece) const;
  // Raw text -> words for encode_words when tagging: split at Unicode whitespace, and every CJK
  // ideograph a word of its own (Chinese NER data tags characters). Other characters stay in
  // their word ("U.S." is one word, as in CoNLL data); invalid UTF-8 bytes are kept for the
  // tokenizer to report.
  static std::vector<std::string> split_words(std::string_view text);
  // On `threads` threads (0: all hardware threads). Padding::Longest pads to the batch's longest.
  // An error in row i is rethrown as "line i+1: ..." (first failing row).
  std::vector<Encoding> encode_batch(const std::vector<std::string_view>& texts, const EncodeOptions& o = {},
                                     unsigned threads = 0) const;
  std::vector<Encoding> encode_pair_batch(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
                                          const EncodeOptions& o = {}, unsigned threads = 0) const;

  // Every window of a text (pair) that does not fit o.max_length, as HF tokenizers' encoding and
  // its overflowing encodings (return_overflowing_tokens): the first is what encode() returns,
  // the next ones continue the truncated sequence with o.stride tokens of overlap. Pairs whose
  // both sequences overflow (longest_first) come in HF's order: A0+B0, A1+B0, A1+B1.., A0+B1...
  // Every window is padded as o asks (Longest: to the first window's length).
  std::vector<Encoding> encode_windows(std::string_view text, const EncodeOptions& o = {}) const;
  std::vector<Encoding> encode_pair_windows(std::string_view a, std::string_view b, const EncodeOptions& o = {}) const;

  // Ids -> text as HF tokenizers' WordPiece decoder: tokens joined by spaces, "##" continuations
  // glued to the previous token, " ." " ?" " !" " ," closed up; special tokens ([CLS], [SEP],
  // [PAD], [UNK], [MASK]) dropped when skip_special_tokens; ids outside the vocabulary ignored.
  // clean_up_tokenization_spaces then applies transformers' rule on the whole string (also
  // " ' " -> "'", " n't", " 'm", " 's", " 've", " 're").
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true,
                     bool clean_up_tokenization_spaces = false) const;
  // Tokens -> text with the WordPiece decoder's rules (as decode, without dropping anything).
  std::string convert_tokens_to_string(const std::vector<std::string>& tokens) const;
  // The vocabulary's token for each id ("[UNK]"'s text for ids outside it), as convert_ids_to_tokens.
  std::vector<std::string> convert_ids_to_tokens(const std::vector<int32_t>& ids) const;
  bool is_special_id(int32_t id) const;

 private:
  std::vector<Encoding> assemble(const std::vector<Piece>& a, const std::vector<Piece>* b, const EncodeOptions& o,
                                 bool all_windows) const;
  Encoding join(const Piece* a, size_t na, const Piece* b, size_t nb, bool pair, const EncodeOptions& o) const;
  void pad(Encoding& e, size_t length, Side side) const;
  void pad_batch(std::vector<Encoding>& batch, const EncodeOptions& o) const;

  Vocab vocab_;
  TokenizerOptions opts_;
  std::shared_ptr<const tokenizer::WordPiece> wordpiece_;
  int32_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = 0;
  std::vector<std::pair<std::string, int32_t>> specials_;   // recognized in text, longest first
};

}  // namespace ernie

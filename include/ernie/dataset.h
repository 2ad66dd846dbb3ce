// Fine-tuning data: TSV, JSON-lines and CoNLL files read into labelled examples (ernie train).
//
// Formats (DataOptions::format; Auto chooses by extension: .jsonl / .json are JSON lines,
// .conll / .bio / .iob / .iob2 are CoNLL, anything else is TSV):
//   TSV         text<TAB>label  or  text_a<TAB>text_b<TAB>label. The column count is fixed by the
//               first non-empty row (DataOptions::columns to force it); later rows must agree.
//   JSON lines  one object per line; texts from DataOptions::text_field (and text_b_field for pairs),
//               the label from label_field (CLUE style: --text-field sentence --label-field label_desc).
//   CoNLL       token classification only: one token per line, columns separated by blanks (tabs or
//               spaces), the first column the word and the last the tag (`word TAG`, or CoNLL-2003's
//               `word POS CHUNK TAG`); a blank line ends a sentence (runs of blank lines are one
//               break); `-DOCSTART-` lines end the sentence and are skipped. One Example per
//               sentence (words, tags); Example::line is the line of its first token. A line with
//               one column or invalid UTF-8 is a bad row: with skip_bad_rows its whole sentence is
//               skipped (counted once).
// All: UTF-8 (validated), a leading BOM and CRLF line ends tolerated, empty (or all-blank) lines
// skipped (CoNLL: they separate sentences); line numbers count every physical line from 1.
//
// Labels, per task (TaskType, named like HF's problem_type):
//   single_label_classification  the label is a name or an index (see LabelSet) -> Example::label.
//   multi_label_classification   TSV: names/indices separated by ',' (an empty column = no label);
//                                JSON: an array of names/indices, a string "a,b" or one integer
//                                -> Example::targets, 0/1 per label (size = labels.size()).
//   regression                   TSV: one or more floats separated by ','; JSON: a number, a
//                                numeric string or an array of numbers -> Example::targets; every
//                                row must have as many values as the first.
//   token_classification         CoNLL: a tag per word (names only, never indices) -> Example::tags.
//                                The task of every CoNLL file, and only of CoNLL files.
// Label values are trimmed of ASCII blanks. JSON integers are matched as their decimal text.
//
// Errors are ernie::Error with a single line `FILE:LINE: what is wrong`, e.g.
//   data/train.tsv:7: expected 2 columns (text<TAB>label), got 3
//   data/eval.tsv:12: unknown label 'sprots' (labels: finance, realty, ...)
// With DataOptions::skip_bad_rows a malformed row (columns, empty text, bad float, invalid UTF-8,
// bad JSON, missing/mistyped field, wrong number of regression values) is counted in
// Dataset::skipped and its message kept in skipped_reasons (the first kMaxSkippedReasons) instead.
// An unknown label or an out-of-range label index is always fatal: it means the label set does not
// fit the data (wrong --labels file, eval labels never seen in training), not a damaged row.
// CoNLL names the line of the unknown tag.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ernie {

enum class TaskType { SingleLabel, MultiLabel, Regression, TokenClassification };

// "single_label_classification" | "multi_label_classification" | "regression" (HF problem_type)
// | "token_classification" (ours: HF configs have no problem_type for token classifiers);
// anything else throws ernie::Error listing the four.
TaskType parse_task_type(std::string_view name);
const char* task_type_name(TaskType t);

enum class DataFormat { Auto, Tsv, JsonLines, Conll };
// "auto" | "tsv" | "jsonl" | "conll"; anything else throws ernie::Error listing them.
DataFormat parse_data_format(std::string_view name);
// `format` itself unless Auto, else the format the file's extension names (see the top).
DataFormat resolve_data_format(const std::filesystem::path& file, DataFormat format);

struct Example {
  std::string text_a, text_b;   // text_b empty for single-text rows
  int32_t label = -1;           // SingleLabel: index into LabelSet::names
  std::vector<float> targets;   // MultiLabel: 0/1 per label; Regression: the values
  std::vector<std::string> words;  // TokenClassification: the sentence's words
  std::vector<int32_t> tags;       // TokenClassification: one index into LabelSet::names per word
  int64_t line = 0;             // 1-based line in its file (CoNLL: of the sentence's first token)
};

// Label names in index order (index = model output = id2label key).
//
// Where the names come from:
//  * from_file(--labels FILE) or from_names(checkpoint id2label): `fixed` is set. A label value is
//    looked up as a name first; a value that is not a name but a non-negative integer is an index
//    into the names (so `text<TAB>3` with class.txt works); anything else is an unknown label.
//  * derived from the training file (an empty, not fixed set passed to read_dataset with
//    may_add_labels = true): if every label value in the file is a non-negative integer, the names
//    are "0".."max" (index = the integer; max below kMaxIndexedClasses, else an error naming the
//    line: one stray number would make that many classes); otherwise the sorted (byte order)
//    unique values.
//    A second training file read into the same set appends its unseen names (integers: extends
//    "0".."max"), never renumbering existing ones.
//    CoNLL tags are always names: sorted (byte order), except that "O" comes first when present
//    and the set was empty (so index 0 is "outside", as in most NER label lists).
//  * not fixed, may_add_labels = false (the eval set after the training set): values are looked
//    up as names only; an unknown value is an error naming it.
struct LabelSet {
  bool fixed = false;

  static LabelSet from_names(std::vector<std::string> names);  // fixed; throws on empty/duplicate
  // One name per line (BOM, CRLF, surrounding blanks and trailing empty lines tolerated); an empty
  // line in the middle or a duplicate name is an error `FILE:LINE: ...`.
  static LabelSet from_file(const std::filesystem::path& file);

  const std::vector<std::string>& names() const { return names_; }
  int32_t size() const { return static_cast<int32_t>(names_.size()); }
  bool empty() const { return names_.empty(); }
  int32_t index_of(std::string_view name) const;  // exact name, -1 when absent
  int32_t add(const std::string& name);            // returns the index (existing or new)

 private:
  // Only add() writes them, so that a lookup is one hash probe: deriving labels from a file with
  // many distinct values was quadratic while `names` was public and the map only a checked cache.
  std::vector<std::string> names_;
  std::unordered_map<std::string, int32_t> index_;
};

struct DataOptions {
  TaskType task = TaskType::SingleLabel;  // TokenClassification iff the format is CoNLL (else an error)
  DataFormat format = DataFormat::Auto;
  std::string text_field = "text";    // JSON lines only
  std::string text_b_field;           // JSON lines: set for sentence pairs
  std::string label_field = "label";  // JSON lines only
  int columns = 0;                    // TSV: 0 = from the first row, else 2 or 3
  bool skip_bad_rows = false;
};

inline constexpr size_t kMaxSkippedReasons = 20;
inline constexpr int64_t kMaxIndexedClasses = 65536;   // integer labels without --labels: 0..65535

struct Dataset {
  std::vector<Example> examples;     // in file order
  int64_t skipped = 0;               // rows dropped by skip_bad_rows
  std::vector<std::string> skipped_reasons;  // "FILE:LINE: why", the first kMaxSkippedReasons
  bool pairs = false;                // rows carry text_b
};

// Reads a whole file; see the top of this header. `labels` is read and, when may_add_labels and
// not labels.fixed, extended (ignored for regression). Throws ernie::Error (FILE:LINE: ...) on the
// first fatal problem, or `FILE: cannot read` / `FILE: no examples`.
Dataset read_dataset(const std::filesystem::path& file, const DataOptions& options, LabelSet& labels,
                     bool may_add_labels);

// Examples per label index (SingleLabel: Example::label; MultiLabel: positive targets;
// TokenClassification: words per tag).
std::vector<int64_t> label_counts(const Dataset& data, int32_t num_labels);

}  // namespace ernie

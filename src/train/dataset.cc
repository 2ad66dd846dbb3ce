// TSV / JSON-lines / CoNLL readers for fine-tuning; the rules are in include/ernie/dataset.h.
#include "ernie/dataset.h"

#include "tokenizer/unicode.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "ernie/error.h"

namespace ernie {

TaskType parse_task_type(std::string_view name) {
  if (name == "single_label_classification") return TaskType::SingleLabel;
  if (name == "multi_label_classification") return TaskType::MultiLabel;
  if (name == "regression") return TaskType::Regression;
  if (name == "token_classification") return TaskType::TokenClassification;
  throw Error("unknown task '" + std::string(name) +
              "': expected single_label_classification, multi_label_classification, regression or "
              "token_classification");
}

const char* task_type_name(TaskType t) {
  switch (t) {
    case TaskType::SingleLabel: return "single_label_classification";
    case TaskType::MultiLabel: return "multi_label_classification";
    case TaskType::Regression: return "regression";
    case TaskType::TokenClassification: return "token_classification";
  }
  return "?";
}

DataFormat parse_data_format(std::string_view name) {
  if (name == "auto") return DataFormat::Auto;
  if (name == "tsv") return DataFormat::Tsv;
  if (name == "jsonl") return DataFormat::JsonLines;
  if (name == "conll") return DataFormat::Conll;
  throw Error("unknown data format '" + std::string(name) + "': expected auto, tsv, jsonl or conll");
}

DataFormat resolve_data_format(const std::filesystem::path& file, DataFormat format) {
  if (format != DataFormat::Auto) return format;
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jsonl" || ext == ".json") return DataFormat::JsonLines;
  if (ext == ".conll" || ext == ".bio" || ext == ".iob" || ext == ".iob2") return DataFormat::Conll;
  return DataFormat::Tsv;
}

namespace {

// A malformed row: skippable with skip_bad_rows. Fatal problems throw ernie::Error directly.
struct BadRow : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// The fields of a line separated by runs of ASCII blanks: CoNLL columns.
std::vector<std::string_view> blank_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_blank(line[j])) ++j;
    if (j > i) fields.push_back(line.substr(i, j - i));
    i = j;
  }
  return fields;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}


// A non-negative decimal integer that fits int32 (digits only, no sign).
bool parse_index(std::string_view s, int64_t& v) {
  if (s.empty() || s.size() > 10) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v <= INT32_MAX;
}

float parse_float(std::string_view s) {
  const std::string_view t = trim(s);
  float v = 0;
  const char* b = t.data();
  const char* e = b + t.size();
  if (!t.empty() && *b == '+') ++b;  // from_chars takes no '+'
  const auto r = std::from_chars(b, e, v);
  if (t.empty() || r.ec != std::errc() || r.ptr != e || !std::isfinite(v))
    throw BadRow("bad float '" + std::string(t) + "'");
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot read (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(file.string() + ": cannot read");
  std::string s = std::move(ss).str();
  if (s.rfind("\xEF\xBB\xBF", 0) == 0) s.erase(0, 3);
  return s;
}

const char* json_type(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::number_float: return "a float";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "something else";
  }
}

std::string list_names(const LabelSet& labels) {
  std::string s;
  const size_t shown = std::min<size_t>(labels.names().size(), 12);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + labels.names()[i];
  if (labels.names().size() > shown) s += ", ... (" + std::to_string(labels.names().size()) + " in all)";
  if (labels.names().empty()) s = "none";
  return s;
}

// A row before its labels are resolved.
struct RawRow {
  Example ex;
  std::vector<std::string> values;  // label values (classification), CoNLL: one tag per word
  std::vector<int64_t> value_lines; // CoNLL: the line of each tag
};

class Reader {
 public:
  Reader(const std::filesystem::path& file, const DataOptions& o, LabelSet& labels, bool may_add)
      : file_(file), name_(file.string()), o_(o), labels_(labels),
        derive_(o.task != TaskType::Regression && may_add && !labels.fixed),
        format_(resolve_data_format(file, o.format)) {}

  Dataset run() {
    if (format_ == DataFormat::Conll && o_.task != TaskType::TokenClassification)
      throw Error(name_ + ": CoNLL data is for token_classification, not " + task_type_name(o_.task));
    if (format_ != DataFormat::Conll && o_.task == TaskType::TokenClassification)
      throw Error(name_ + ": token_classification needs CoNLL data (word and tag per line: a .conll, .bio, .iob or "
                  ".iob2 file, or --format conll)");
    const std::string text = read_all(file_);
    data_.pairs = format_ == DataFormat::JsonLines ? !o_.text_b_field.empty() : o_.columns == 3;
    if (format_ == DataFormat::Tsv && o_.columns != 0 && o_.columns != 2 && o_.columns != 3)
      throw Error("TSV columns must be 2 (text<TAB>label) or 3 (text_a<TAB>text_b<TAB>label)");
    columns_ = o_.columns;
    if (format_ == DataFormat::Conll) read_conll(text);
    else read_rows(text);
    if (derive_) {
      extend_labels(pending_);
      data_.examples.reserve(pending_.size());
      for (RawRow& r : pending_) data_.examples.push_back(resolve(std::move(r)));
    }
    if (data_.examples.empty()) {
      std::string msg = name_ + ": no examples";
      if (data_.skipped)
        msg += " (" + std::to_string(data_.skipped) + (format_ == DataFormat::Conll ? " bad sentences" : " bad rows") +
               " skipped; first: " + data_.skipped_reasons[0] + ")";
      throw Error(msg);
    }
    return std::move(data_);
  }

 private:
  std::string line_prefix(int64_t line) const { return name_ + ":" + std::to_string(line) + ": "; }

  // Throws, or counts and keeps the reason with skip_bad_rows.
  void bad_row(int64_t line, const BadRow& e) {
    std::string msg = line_prefix(line) + e.what();
    if (!o_.skip_bad_rows) throw Error(msg);
    ++data_.skipped;
    if (data_.skipped_reasons.size() < kMaxSkippedReasons) data_.skipped_reasons.push_back(std::move(msg));
  }

  static void check_utf8(std::string_view line) {
    const size_t bad = tokenizer::invalid_utf8_at(line);
    if (bad != std::string_view::npos)
      throw BadRow("invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
  }

  void accept(RawRow row) {
    if (derive_) pending_.push_back(std::move(row));
    else data_.examples.push_back(resolve(std::move(row)));
  }

  // TSV and JSON lines: one example per non-blank line.
  void read_rows(const std::string& text) {
    int64_t line_no = 0;
    for (std::string_view line : split(text, '\n')) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (trim(line).empty()) continue;
      try {
        check_utf8(line);
        RawRow row = format_ == DataFormat::JsonLines ? parse_json(line) : parse_tsv(line);
        row.ex.line = line_no;
        if (o_.task == TaskType::Regression) {
          if (n_values_ < 0) n_values_ = static_cast<int64_t>(row.ex.targets.size());
          if (static_cast<int64_t>(row.ex.targets.size()) != n_values_)
            throw BadRow("expected " + std::to_string(n_values_) + " regression value" + (n_values_ == 1 ? "" : "s") +
                         " (as the first row), got " + std::to_string(row.ex.targets.size()));
          data_.examples.push_back(std::move(row.ex));
        } else {
          accept(std::move(row));
        }
      } catch (const BadRow& e) {
        bad_row(line_no, e);
      }
    }
  }

  // CoNLL: one example per sentence; a bad line drops its whole sentence (skip_bad_rows).
  void read_conll(const std::string& text) {
    RawRow sentence;
    bool bad = false;
    auto flush = [&] {
      if (!bad && !sentence.values.empty()) accept(std::move(sentence));
      sentence = RawRow();
      bad = false;
    };
    int64_t line_no = 0;
    for (std::string_view line : split(text, '\n')) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const std::vector<std::string_view> cols = blank_fields(line);
      if (cols.empty() || cols.front() == "-DOCSTART-") {
        flush();
        continue;
      }
      if (bad) continue;   // the rest of a skipped sentence
      try {
        check_utf8(line);
        if (cols.size() < 2) throw BadRow("expected a word and its tag separated by blanks, got one column");
        if (sentence.values.empty()) sentence.ex.line = line_no;
        sentence.ex.words.emplace_back(cols.front());
        sentence.values.emplace_back(cols.back());
        sentence.value_lines.push_back(line_no);
      } catch (const BadRow& e) {
        bad_row(line_no, e);
        bad = true;
      }
    }
    flush();
  }

  RawRow parse_tsv(std::string_view line) {
    const std::vector<std::string_view> cols = split(line, '\t');
    const int got = static_cast<int>(cols.size());
    if (columns_ == 0) {
      if (got != 2 && got != 3)
        throw BadRow("expected 2 columns (text<TAB>label) or 3 (text_a<TAB>text_b<TAB>label), got " +
                     std::to_string(got));
      columns_ = got;
      data_.pairs = got == 3;
    }
    if (got != columns_)
      throw BadRow("expected " + std::to_string(columns_) + " columns (" +
                   (columns_ == 2 ? "text<TAB>label" : "text_a<TAB>text_b<TAB>label") + "), got " +
                   std::to_string(got));
    RawRow r;
    if (trim(cols[0]).empty()) throw BadRow(columns_ == 2 ? "empty text" : "empty text_a");
    r.ex.text_a = std::string(cols[0]);
    if (columns_ == 3) {
      if (trim(cols[1]).empty()) throw BadRow("empty text_b");
      r.ex.text_b = std::string(cols[1]);
    }
    label_from_text(cols.back(), r);
    return r;
  }

  // The label column of a TSV row, or a JSON string label.
  void label_from_text(std::string_view raw, RawRow& r) {
    const std::string_view v = trim(raw);
    switch (o_.task) {
      case TaskType::SingleLabel:
        if (v.empty()) throw BadRow("empty label");
        r.values.emplace_back(v);
        break;
      case TaskType::MultiLabel:
        if (v.empty()) break;  // no label at all
        for (std::string_view part : split(v, ',')) {
          part = trim(part);
          if (part.empty()) throw BadRow("empty label in '" + std::string(v) + "'");
          r.values.emplace_back(part);
        }
        break;
      case TaskType::Regression:
        for (std::string_view part : split(v, ',')) r.ex.targets.push_back(parse_float(part));
        break;
      case TaskType::TokenClassification:   // CoNLL only (read_conll)
        break;
    }
  }

  std::string text_field(const nlohmann::json& obj, const std::string& field) {
    const auto it = obj.find(field);
    if (it == obj.end()) throw BadRow("missing field '" + field + "'");
    if (!it->is_string()) throw BadRow("field '" + field + "' must be a string, got " + json_type(*it));
    std::string s = it->get<std::string>();
    if (trim(s).empty()) throw BadRow("empty text in field '" + field + "'");
    return s;
  }

  RawRow parse_json(std::string_view line) {
    nlohmann::json obj;
    try {
      obj = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {   // parse_error, or out_of_range for 1e999
      std::string what = e.what();
      const size_t p = what.find("] ");  // drop "[json.exception.parse_error.101] "
      if (p != std::string::npos) what.erase(0, p + 2);
      throw BadRow("bad JSON: " + what);
    }
    if (!obj.is_object())
      throw BadRow(std::string("expected one JSON object per line, got ") + json_type(obj));
    RawRow r;
    r.ex.text_a = text_field(obj, o_.text_field);
    if (!o_.text_b_field.empty()) r.ex.text_b = text_field(obj, o_.text_b_field);
    const auto it = obj.find(o_.label_field);
    if (it == obj.end()) throw BadRow("missing field '" + o_.label_field + "'");
    const nlohmann::json& v = *it;
    const std::string where = "field '" + o_.label_field + "'";
    auto integer_text = [](const nlohmann::json& x) {
      return x.is_number_unsigned() ? std::to_string(x.get<uint64_t>()) : std::to_string(x.get<int64_t>());
    };
    switch (o_.task) {
      case TaskType::SingleLabel:
        if (v.is_string()) label_from_text(v.get<std::string>(), r);
        else if (v.is_number_integer()) r.values.push_back(integer_text(v));
        else throw BadRow(where + " must be a string or an integer, got " + json_type(v));
        break;
      case TaskType::MultiLabel:
        if (v.is_string()) label_from_text(v.get<std::string>(), r);
        else if (v.is_number_integer()) r.values.push_back(integer_text(v));
        else if (v.is_array()) {
          for (const auto& x : v) {
            if (x.is_string()) {
              const std::string_view s = trim(x.get_ref<const std::string&>());
              if (s.empty()) throw BadRow("empty label in " + where);
              r.values.emplace_back(s);
            } else if (x.is_number_integer()) {
              r.values.push_back(integer_text(x));
            } else {
              throw BadRow(where + " must hold strings or integers, got " + json_type(x));
            }
          }
        } else {
          throw BadRow(where + " must be an array of labels, a string or an integer, got " + json_type(v));
        }
        break;
      case TaskType::Regression:
        if (v.is_string()) label_from_text(v.get<std::string>(), r);
        else if (v.is_number()) r.ex.targets.push_back(v.get<float>());
        else if (v.is_array() && !v.empty()) {
          for (const auto& x : v) {
            if (!x.is_number()) throw BadRow(where + " must hold numbers, got " + json_type(x));
            r.ex.targets.push_back(x.get<float>());
          }
        } else {
          throw BadRow(where + " must be a number or an array of numbers, got " + json_type(v));
        }
        for (float f : r.ex.targets)
          if (!std::isfinite(f)) throw BadRow(where + " holds a value out of float range");
        break;
      case TaskType::TokenClassification:   // CoNLL only (read_conll)
        break;
    }
    return r;
  }

  int32_t label_index(const std::string& v, int64_t line) const {
    const int32_t i = labels_.index_of(v);
    if (i >= 0) return i;
    int64_t k;
    if (labels_.fixed && parse_index(v, k)) {
      if (k < labels_.size()) return static_cast<int32_t>(k);
      throw Error(line_prefix(line) + "label index " + v + " out of range (" + std::to_string(labels_.size()) +
                  " labels: 0.." + std::to_string(labels_.size() - 1) + ")");
    }
    throw Error(line_prefix(line) + "unknown label '" + v + "' (labels: " + list_names(labels_) + ")");
  }

  Example resolve(RawRow r) {
    if (o_.task == TaskType::TokenClassification) {
      for (size_t i = 0; i < r.values.size(); ++i) {
        const int32_t k = labels_.index_of(r.values[i]);   // tags are names, never indices
        if (k < 0)
          throw Error(line_prefix(r.value_lines[i]) + "unknown tag '" + r.values[i] + "' (tags: " +
                      list_names(labels_) + ")");
        r.ex.tags.push_back(k);
      }
    } else if (o_.task == TaskType::SingleLabel) {
      r.ex.label = label_index(r.values.at(0), r.ex.line);
    } else if (o_.task == TaskType::MultiLabel) {
      r.ex.targets.assign(labels_.names().size(), 0.0f);
      for (const std::string& v : r.values) r.ex.targets[label_index(v, r.ex.line)] = 1.0f;
    }
    return std::move(r.ex);
  }

  // Derivation from the training file (see LabelSet in the header).
  void extend_labels(std::vector<RawRow>& rows) {
    bool all_int = true;
    int64_t max_int = -1, max_line = 0;
    for (const RawRow& r : rows)
      for (const std::string& v : r.values) {
        int64_t k;
        if (!parse_index(v, k)) all_int = false;
        else if (k > max_int) max_int = k, max_line = r.ex.line;
      }
    bool numbered = true;  // existing names are exactly "0".."n-1"
    for (int32_t i = 0; i < labels_.size(); ++i) numbered = numbered && labels_.names()[i] == std::to_string(i);
    if (all_int && numbered && o_.task != TaskType::TokenClassification) {
      for (RawRow& r : rows)
        for (std::string& v : r.values) {
          int64_t k = 0;
          parse_index(v, k);
          v = std::to_string(k);  // "007" -> "7"
        }
      // An integer label is a class index: one stray large number would make that many classes.
      if (max_int >= kMaxIndexedClasses)
        throw Error(line_prefix(max_line) + "label " + std::to_string(max_int) + " would make " +
                    std::to_string(max_int + 1) + " classes (integer labels are class indices 0.." +
                    std::to_string(kMaxIndexedClasses - 1) + "); name the classes with --labels");
      for (int64_t i = labels_.size(); i <= max_int; ++i) labels_.add(std::to_string(i));
      return;
    }
    std::set<std::string> unseen;
    for (const RawRow& r : rows)
      for (const std::string& v : r.values)
        if (labels_.index_of(v) < 0) unseen.insert(v);
    if (o_.task == TaskType::TokenClassification && labels_.empty() && unseen.erase("O")) labels_.add("O");
    for (const std::string& v : unseen) labels_.add(v);
  }

  std::filesystem::path file_;
  std::string name_;
  const DataOptions& o_;
  LabelSet& labels_;
  bool derive_;
  DataFormat format_;
  int columns_ = 0;
  int64_t n_values_ = -1;
  std::vector<RawRow> pending_;   // rows waiting for the derived label set
  Dataset data_;
};

}  // namespace


// ------------------------------------------------------------------------------------------------
// LabelSet

int32_t LabelSet::index_of(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

int32_t LabelSet::add(const std::string& name) {
  const auto [it, fresh] = index_.emplace(name, static_cast<int32_t>(names_.size()));
  if (fresh) names_.push_back(name);
  return it->second;
}

LabelSet LabelSet::from_names(std::vector<std::string> names) {
  LabelSet s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) throw Error("label set: empty name at index " + std::to_string(i));
    if (s.index_of(names[i]) >= 0) throw Error("label set: duplicate name '" + names[i] + "'");
    s.add(names[i]);
  }
  s.fixed = true;
  return s;
}

LabelSet LabelSet::from_file(const std::filesystem::path& file) {
  const std::string text = read_all(file);
  const std::string name = file.string();
  std::vector<std::string_view> lines = split(text, '\n');
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  LabelSet s;
  std::map<std::string, size_t> first_line;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = name + ":" + std::to_string(i + 1) + ": ";
    const size_t bad = tokenizer::invalid_utf8_at(lines[i]);
    if (bad != std::string_view::npos) throw Error(where + "invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
    const std::string v(trim(lines[i]));
    if (v.empty()) throw Error(where + "empty label name");
    const auto [it, fresh] = first_line.emplace(v, i + 1);
    if (!fresh) throw Error(where + "duplicate label '" + v + "' (also on line " + std::to_string(it->second) + ")");
    s.add(v);
  }
  if (s.empty()) throw Error(name + ": no label names");
  s.fixed = true;
  return s;
}

// ------------------------------------------------------------------------------------------------

Dataset read_dataset(const std::filesystem::path& file, const DataOptions& options, LabelSet& labels,
                     bool may_add_labels) {
  return Reader(file, options, labels, may_add_labels).run();
}

std::vector<int64_t> label_counts(const Dataset& data, int32_t num_labels) {
  std::vector<int64_t> n(static_cast<size_t>(std::max(num_labels, 0)), 0);
  for (const Example& e : data.examples) {
    if (e.label >= 0 && e.label < num_labels) ++n[e.label];
    for (int32_t t : e.tags)
      if (t >= 0 && t < num_labels) ++n[t];
    if (e.label < 0)
      for (size_t i = 0; i < e.targets.size() && i < n.size(); ++i)
        if (e.targets[i] > 0.5f) ++n[i];
  }
  return n;
}

}  // namespace ernie

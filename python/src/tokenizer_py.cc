// ernie.Tokenizer: transformers-style calls over ernie::Tokenizer (include/ernie/tokenizer.h).
// Arguments are read here; tokenizing, truncating and padding are the library's.
#include <filesystem>

#include "common.h"
#include "ernie/tokenizer.h"

namespace ernie::py_detail {

namespace {

namespace fs = std::filesystem;

struct PyTokenizer {
  Tokenizer tok;
  unsigned threads = 0;   // encode_batch threads (0: all hardware threads)
};

PyTokenizer from_file(const py::object& path_obj, std::optional<bool> do_lower_case, std::optional<bool> strip_accents,
                      std::optional<bool> split_special_tokens, std::optional<unsigned> threads) {
  const fs::path path = path_arg(path_obj);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file or folder");
  Tokenizer base = fs::is_directory(path, ec)     ? Tokenizer::from_folder(path)
                   : path.extension() == ".json" ? Tokenizer::from_tokenizer_json(path)
                                                  : Tokenizer::from_vocab_file(path);
  // The same overrides as `ernie tokenize --no-lower-case / --strip-accents / --split-special-tokens`.
  TokenizerOptions o = base.options();
  if (do_lower_case) o.lowercase = *do_lower_case;
  if (strip_accents) o.strip_accents = *strip_accents;
  if (split_special_tokens) o.split_special_tokens = *split_special_tokens;
  return {Tokenizer(base.vocab(), o), threads.value_or(0)};
}

Padding parse_padding(const py::object& p) {
  if (p.is_none() || (py::isinstance<py::bool_>(p) && !p.cast<bool>())) return Padding::None;
  if (py::isinstance<py::bool_>(p)) return Padding::Longest;
  if (py::isinstance<py::str>(p)) {
    const std::string s = p.cast<std::string>();
    if (s == "longest") return Padding::Longest;
    if (s == "max_length") return Padding::MaxLength;
    if (s == "do_not_pad") return Padding::None;
  }
  throw py::value_error("padding must be False, True, 'longest', 'max_length' or 'do_not_pad', got " +
                        py::repr(p).cast<std::string>());
}

// transformers: truncation=None with max_length given truncates longest_first.
std::optional<Truncation> parse_truncation(const py::object& t, bool has_max_length) {
  if (t.is_none()) return has_max_length ? std::optional(Truncation::LongestFirst) : std::nullopt;
  if (py::isinstance<py::bool_>(t)) return t.cast<bool>() ? std::optional(Truncation::LongestFirst) : std::nullopt;
  if (py::isinstance<py::str>(t)) {
    const std::string s = t.cast<std::string>();
    if (s == "longest_first") return Truncation::LongestFirst;
    if (s == "only_first") return Truncation::OnlyFirst;
    if (s == "only_second") return Truncation::OnlySecond;
    if (s == "do_not_truncate") return std::nullopt;
  }
  throw py::value_error("truncation must be False, True, 'longest_first', 'only_first', 'only_second' or "
                        "'do_not_truncate', got " + py::repr(t).cast<std::string>());
}

EncodeOptions encode_options(const py::object& padding, const py::object& truncation, std::optional<int64_t> max_length,
                             bool add_special_tokens, std::optional<int64_t> pad_to_multiple_of = std::nullopt) {
  if (max_length && *max_length <= 0) throw py::value_error("max_length must be positive, got " + std::to_string(*max_length));
  EncodeOptions o;
  o.add_special_tokens = add_special_tokens;
  o.padding = parse_padding(padding);
  const auto trunc = parse_truncation(truncation, max_length.has_value());
  if (o.padding == Padding::MaxLength && !max_length) throw py::value_error("padding='max_length' needs max_length");
  // The library's max_length both truncates and pads; padding to it without truncating is not offered.
  if (o.padding == Padding::MaxLength && !trunc)
    throw py::value_error("padding='max_length' needs truncation (rows longer than max_length would stay longer)");
  if (pad_to_multiple_of) {
    if (*pad_to_multiple_of <= 0) throw py::value_error("pad_to_multiple_of must be positive");
    o.pad_to_multiple_of = static_cast<size_t>(*pad_to_multiple_of);
  }
  if (trunc && max_length) {
    o.truncation = *trunc;
    o.max_length = static_cast<size_t>(*max_length);
  }
  return o;
}

// Texts of one call: a str, or a list/tuple of str. Holds the str objects so the views stay valid.
struct Texts {
  std::vector<py::object> keep;
  std::vector<std::string_view> views;
  bool single = false;
};

Texts read_texts(const py::handle& obj, const char* what) {
  Texts t;
  if (PyUnicode_Check(obj.ptr())) {
    t.single = true;
    t.keep.push_back(py::reinterpret_borrow<py::object>(obj));
  } else if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    for (const auto& item : obj) t.keep.push_back(py::reinterpret_borrow<py::object>(item));
  } else {
    throw py::type_error(std::string(what) + " must be a str or a list of str, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  for (const auto& o : t.keep) t.views.push_back(utf8_view(o, what));
  return t;
}

template <class T>
py::array_t<int64_t> row_array(const std::vector<T>& v) {
  py::array_t<int64_t> a(static_cast<py::ssize_t>(v.size()));
  auto* p = a.mutable_data();
  for (size_t i = 0; i < v.size(); ++i) p[i] = v[i];
  return a;
}

py::array_t<int64_t> offsets_array(const std::vector<std::pair<uint32_t, uint32_t>>& v) {
  py::array_t<int64_t> a({static_cast<py::ssize_t>(v.size()), py::ssize_t{2}});
  auto* p = a.mutable_data();
  for (size_t i = 0; i < v.size(); ++i) p[2 * i] = v[i].first, p[2 * i + 1] = v[i].second;
  return a;
}

// Rows of equal length stacked into [n, L] (or [n, L, 2]).
py::array stack(const py::list& rows) { return py::module_::import("numpy").attr("stack")(rows); }

py::dict call(const PyTokenizer& self, const py::object& text, const py::object& text_pair, const py::object& padding,
              const py::object& truncation, std::optional<int64_t> max_length, bool return_offsets_mapping,
              bool add_special_tokens, bool return_special_tokens_mask, const py::object& return_tensors,
              std::optional<int64_t> pad_to_multiple_of) {
  // Arrays are always NumPy; "np" is accepted for code written for transformers.
  if (!return_tensors.is_none() && !(py::isinstance<py::str>(return_tensors) && return_tensors.cast<std::string>() == "np"))
    throw py::value_error("return_tensors: only None or 'np' (outputs are NumPy arrays; torch.from_numpy(x) "
                          "wraps one without a copy)");
  const EncodeOptions o = encode_options(padding, truncation, max_length, add_special_tokens, pad_to_multiple_of);
  const Texts a = read_texts(text, "text");
  Texts b;
  const bool pair = !text_pair.is_none();
  if (pair) {
    b = read_texts(text_pair, "text_pair");
    if (b.single != a.single || b.views.size() != a.views.size())
      throw py::value_error("text_pair must match text: a str for a str, a list of as many texts for a list (got " +
                            std::to_string(a.views.size()) + " and " + std::to_string(b.views.size()) + ")");
  }
  if (!a.single && a.views.empty()) throw py::value_error("text is an empty list");
  std::vector<Encoding> encs;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> offsets;
  {
    py::gil_scoped_release nogil;
    if (pair) {
      std::vector<std::pair<std::string_view, std::string_view>> pairs;
      for (size_t i = 0; i < a.views.size(); ++i) pairs.emplace_back(a.views[i], b.views[i]);
      encs = a.single ? std::vector<Encoding>{self.tok.encode_pair(pairs[0].first, pairs[0].second, o)}
                      : self.tok.encode_pair_batch(pairs, o, self.threads);
    } else {
      encs = a.single ? std::vector<Encoding>{self.tok.encode(a.views[0], o)}
                      : self.tok.encode_batch(a.views, o, self.threads);
    }
    if (return_offsets_mapping)
      for (size_t i = 0; i < encs.size(); ++i)
        offsets.push_back(encs[i].char_offsets(a.views[i], pair ? b.views[i] : std::string_view()));
  }
  py::list ids, types, mask, special, offs;
  for (size_t i = 0; i < encs.size(); ++i) {
    ids.append(row_array(encs[i].ids));
    types.append(row_array(encs[i].type_ids));
    mask.append(row_array(encs[i].attention_mask));
    if (return_special_tokens_mask) special.append(row_array(encs[i].special_tokens_mask));
    if (return_offsets_mapping) offs.append(offsets_array(offsets[i]));
  }
  // A str gives 1-D arrays; a padded batch [n, L] arrays; an unpadded batch lists of 1-D arrays.
  const bool padded = o.padding != Padding::None;
  auto shape = [&](const py::list& rows) -> py::object {
    if (a.single) return rows[0];
    return padded ? py::object(stack(rows)) : py::object(rows);
  };
  py::dict out;
  out["input_ids"] = shape(ids);
  out["token_type_ids"] = shape(types);
  out["attention_mask"] = shape(mask);
  if (return_special_tokens_mask) out["special_tokens_mask"] = shape(special);
  if (return_offsets_mapping) out["offset_mapping"] = shape(offs);
  return out;
}

std::vector<int32_t> read_ids(const py::handle& ids) {
  std::vector<int32_t> out;
  for (const auto& v : py::iter(ids)) {
    const int64_t id = py::cast<int64_t>(v);
    if (id < INT32_MIN || id > INT32_MAX) throw py::value_error("token id " + std::to_string(id) + " is out of range");
    out.push_back(static_cast<int32_t>(id));
  }
  return out;
}

std::string token_of(const Tokenizer& t, int64_t id) {
  if (id < 0 || static_cast<size_t>(id) >= t.vocab().size())
    throw py::index_error("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                          std::to_string(t.vocab().size()) + ")");
  return t.vocab().token(static_cast<int32_t>(id));
}

int32_t id_of(const Tokenizer& t, const std::string& token) {
  const int32_t id = t.vocab().id(token);
  return id < 0 ? t.unk_id() : id;
}

}  // namespace

void bind_tokenizer(py::module_& m) {
  py::class_<PyTokenizer>(m, "Tokenizer", "WordPiece tokenizer (BertTokenizerFast / ErnieTokenizer); see docs/PYTHON.md")
      .def_static("from_file", &from_file, py::arg("path"), py::kw_only(), py::arg("do_lower_case") = py::none(),
                  py::arg("strip_accents") = py::none(), py::arg("split_special_tokens") = py::none(),
                  py::arg("threads") = py::none(),
                  "vocab.txt, tokenizer.json or a model folder (tokenizer.json, else vocab.txt + tokenizer_config.json)")
      .def("__call__", &call, py::arg("text"), py::arg("text_pair") = py::none(), py::kw_only(),
           py::arg("padding") = false, py::arg("truncation") = py::none(), py::arg("max_length") = py::none(),
           py::arg("return_offsets_mapping") = false, py::arg("add_special_tokens") = true,
           py::arg("return_special_tokens_mask") = false, py::arg("return_tensors") = py::none(),
           py::arg("pad_to_multiple_of") = py::none())
      .def(
          "encode",
          [](const PyTokenizer& self, const py::object& text, const py::object& text_pair, bool add_special_tokens,
             const py::object& truncation, std::optional<int64_t> max_length) {
            if (!PyUnicode_Check(text.ptr())) throw py::type_error("encode takes one str (use __call__ for batches)");
            py::dict d = call(self, text, text_pair, py::bool_(false), truncation, max_length, false, add_special_tokens,
                              false, py::none(), std::nullopt);
            return d["input_ids"].attr("tolist")();
          },
          py::arg("text"), py::arg("text_pair") = py::none(), py::kw_only(), py::arg("add_special_tokens") = true,
          py::arg("truncation") = py::none(), py::arg("max_length") = py::none())
      .def(
          "tokenize",
          [](const PyTokenizer& self, const py::object& text) {
            const std::string_view s = utf8_view(text, "text");
            std::vector<Piece> pieces;
            {
              py::gil_scoped_release nogil;
              pieces = self.tok.tokenize(s);
            }
            std::vector<std::string> out;
            for (const auto& p : pieces) out.push_back(self.tok.vocab().token(p.id));
            return out;
          },
          py::arg("text"))
      .def(
          "decode",
          [](const PyTokenizer& self, const py::object& ids, bool skip) {
            const std::vector<int32_t> v = read_ids(ids);
            py::gil_scoped_release nogil;
            return self.tok.decode(v, skip);
          },
          py::arg("ids"), py::kw_only(), py::arg("skip_special_tokens") = false)
      .def(
          "batch_decode",
          [](const PyTokenizer& self, const py::object& rows, bool skip) {
            std::vector<std::string> out;
            for (const auto& r : rows) out.push_back(self.tok.decode(read_ids(r), skip));
            return out;
          },
          py::arg("sequences"), py::kw_only(), py::arg("skip_special_tokens") = false)
      .def("convert_ids_to_tokens",
           [](const PyTokenizer& self, const py::object& ids) -> py::object {
             if (py::isinstance<py::int_>(ids) || py::hasattr(ids, "__index__"))
               if (!py::hasattr(ids, "__len__")) return py::str(token_of(self.tok, ids.cast<int64_t>()));
             py::list out;
             for (const auto& v : ids) out.append(py::str(token_of(self.tok, py::cast<int64_t>(v))));
             return out;
           }, py::arg("ids"))
      .def("convert_tokens_to_ids",
           [](const PyTokenizer& self, const py::object& tokens) -> py::object {
             if (PyUnicode_Check(tokens.ptr())) return py::int_(id_of(self.tok, tokens.cast<std::string>()));
             py::list out;
             for (const auto& t : tokens) out.append(id_of(self.tok, py::cast<std::string>(t)));
             return out;
           }, py::arg("tokens"))
      .def("get_vocab",
           [](const PyTokenizer& self) {
             py::dict d;
             const auto& tokens = self.tok.vocab().tokens();
             for (size_t i = 0; i < tokens.size(); ++i)
               if (self.tok.vocab().id(tokens[i]) == static_cast<int32_t>(i)) d[py::str(tokens[i])] = i;
             return d;
           })
      .def("save", [](const PyTokenizer& self, const py::object& dir) { self.tok.save(path_arg(dir)); }, py::arg("dir"),
           "vocab.txt + tokenizer_config.json into a model folder")
      .def_property_readonly("vocab_size", [](const PyTokenizer& self) { return self.tok.vocab().size(); })
      .def("__len__", [](const PyTokenizer& self) { return self.tok.vocab().size(); })
      .def_property_readonly("do_lower_case", [](const PyTokenizer& self) { return self.tok.options().lowercase; })
      .def_property_readonly("cls_token_id", [](const PyTokenizer& self) { return self.tok.cls_id(); })
      .def_property_readonly("sep_token_id", [](const PyTokenizer& self) { return self.tok.sep_id(); })
      .def_property_readonly("pad_token_id", [](const PyTokenizer& self) { return self.tok.pad_id(); })
      .def_property_readonly("unk_token_id", [](const PyTokenizer& self) { return self.tok.unk_id(); })
      .def_property_readonly("mask_token_id",
                             [](const PyTokenizer& self) { return self.tok.vocab().id(self.tok.options().mask_token); })
      .def_property_readonly("cls_token", [](const PyTokenizer& self) { return self.tok.options().cls_token; })
      .def_property_readonly("sep_token", [](const PyTokenizer& self) { return self.tok.options().sep_token; })
      .def_property_readonly("pad_token", [](const PyTokenizer& self) { return self.tok.options().pad_token; })
      .def_property_readonly("unk_token", [](const PyTokenizer& self) { return self.tok.options().unk_token; })
      .def_property_readonly("mask_token", [](const PyTokenizer& self) { return self.tok.options().mask_token; })
      .def("__repr__", [](const PyTokenizer& self) {
        return "ernie.Tokenizer(vocab_size=" + std::to_string(self.tok.vocab().size()) +
               ", do_lower_case=" + (self.tok.options().lowercase ? "True" : "False") + ")";
      });
}

}  // namespace ernie::py_detail

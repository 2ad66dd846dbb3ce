// ernie.Config: attribute access to every key of the config key table (src/config/fields.cc) with
// the file's value or its source's default, explain/validate/save over include/ernie/config.h.
#include <filesystem>

#include "common.h"
#include "config/fields.h"
#include "config/json_util.h"
#include "ernie/config.h"
#include "ernie/explain.h"

namespace ernie::py_detail {

namespace {

namespace fs = std::filesystem;
using config_detail::field_table;
using config_detail::find_field;
using nlohmann::json;

// id2label as transformers has it: {0: "LABEL_0", ...} with int keys.
py::object id2label(const Config& c) {
  py::dict d;
  for (size_t i = 0; i < c.id2label.size(); ++i) d[py::int_(i)] = c.id2label[i];
  return d;
}

bool has_key(const Config& c, const std::string& key) {
  return c.original.is_object() && c.original.contains(key);
}

// The value of a known key (file value as parsed, else the source's default), or of a key the
// file holds but the table does not know.
std::optional<py::object> lookup(const Config& c, const std::string& key) {
  if (key == "id2label") return id2label(c);
  if (const auto* f = find_field(key)) {
    json v = config_detail::field_value(c, *f);
    if (v.is_null() && !has_key(c, key)) v = config_detail::field_default(*f, c.source, c.model_type);
    return json_to_py(v);
  }
  if (has_key(c, key)) return json_to_py(c.original.at(key));
  return std::nullopt;
}

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& f : field_table()) keys.push_back(f.key);
  return keys;
}

std::vector<std::string> all_keys(const Config& c) {
  std::vector<std::string> keys = known_keys();
  for (const auto& k : c.unknown_keys) keys.push_back(k);
  return keys;
}

ConfigSource parse_target(const Config& c, const std::optional<std::string>& format) {
  if (!format) return c.source;
  if (*format == "hf" || *format == "transformers") return ConfigSource::HuggingFace;
  if (*format == "paddle" || *format == "paddlenlp") return ConfigSource::PaddleNLP;
  throw py::value_error("format must be 'hf' or 'paddle', got '" + *format + "'");
}

py::object getattr(const Config& c, const std::string& name) {
  if (auto v = lookup(c, name)) return *v;
  const std::string guess = name.rfind("__", 0) == 0 ? "" : config_detail::closest_name(name, all_keys(c));
  throw py::attribute_error("'Config' has no key '" + name + "'" + (guess.empty() ? "" : " (did you mean " + guess + "?)"));
}

}  // namespace

void bind_config(py::module_& m) {
  py::class_<Config>(m, "Config", "A model config (transformers or PaddleNLP); every key is an attribute")
      .def_static(
          "from_file",
          [](const py::object& path, bool strict) {
            ConfigOptions o;
            o.strict = strict;
            return load_config(path_arg(path), o);
          },
          py::arg("path"), py::kw_only(), py::arg("strict") = false,
          "config.json (transformers or PaddleNLP) or a model folder holding one")
      .def_static(
          "from_dict",
          [](const py::dict& d, bool strict) {
            ConfigOptions o;
            o.strict = strict;
            return parse_config_json(py_to_json(d), o);
          },
          py::arg("config"), py::kw_only(), py::arg("strict") = false)
      .def("__getattr__", &getattr, py::arg("name"))
      .def("__getitem__",
           [](const Config& c, const std::string& key) {
             if (auto v = lookup(c, key)) return *v;
             throw py::key_error(key);
           })
      .def("__contains__", [](const Config& c, const std::string& key) { return lookup(c, key).has_value(); })
      .def("__dir__", [](const Config& c) {
        auto keys = all_keys(c);
        for (const char* k : {"explain", "num_parameters", "validate", "save", "to_dict", "keys",
                              "from_file", "from_dict"})
          keys.push_back(k);
        return keys;
      })
      .def("keys", &all_keys, "Every key an attribute answers: the key table's, then the file's unknown keys")
      .def(
          "explain",
          [](const Config& c, const std::string& lang, int64_t seq_len) { return explain_config(c, lang, seq_len); },
          py::arg("lang") = "en", py::arg("seq_len") = 128, "`ernie config explain`: every field in plain words")
      .def("num_parameters", [](const Config& c) { return config_facts(c, 1).params_total; },
           "Parameters of the model this config describes, head included")
      .def(
          "validate",
          [](const Config& c) {
            std::vector<std::string> warnings;
            std::vector<ConfigDiagnostic> errors;
            for (auto& d : validate_config(c)) {
              if (d.is_error) errors.push_back(d);
              else warnings.push_back(d.message);
            }
            if (!errors.empty()) throw ConfigError(errors);
            return warnings;
          },
          "Raises ernie.ConfigError naming every problem; returns the warnings")
      .def(
          "save",
          [](const Config& c, const py::object& path, const std::optional<std::string>& format) {
            fs::path p = path_arg(path);
            std::error_code ec;
            if (fs::is_directory(p, ec)) p /= "config.json";
            save_config(c, p, parse_target(c, format));
            return p.string();
          },
          py::arg("path"), py::arg("format") = py::none(),
          "Atomic write; a folder gets config.json. format: 'hf' or 'paddle' (default: the file's own)")
      .def(
          "to_dict",
          [](const Config& c, const std::optional<std::string>& format) {
            return json_to_py(config_to_json(c, parse_target(c, format)));
          },
          py::arg("format") = py::none(), "The document save() writes")
      .def_property_readonly("source", [](const Config& c) { return to_string(c.source); })
      .def_property_readonly("head", [](const Config& c) { return to_string(c.head()); })
      .def_property_readonly("class_name", &Config::class_name)
      .def("__repr__", [](const Config& c) { return "ernie.Config(" + config_summary(c) + ")"; })
      .def(py::pickle([](const Config& c) { return config_to_json(c, c.source).dump(); },
                      [](const std::string& s) { return parse_config(s); }));
}

}  // namespace ernie::py_detail

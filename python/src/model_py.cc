// ernie.Model and the model-folder commands (init, convert, quantize) over include/ernie/model.h
// and include/ernie/model_folder.h: what `ernie run/init/convert/quantize` do.
#include <filesystem>

#include "common.h"
#include "ernie/checkpoint.h"
#include "ernie/config.h"
#include "ernie/init.h"
#include "ernie/model.h"
#include "ernie/model_folder.h"

namespace ernie::py_detail {

namespace {

namespace fs = std::filesystem;

// Python warnings for what the CLI prints as "ernie: warning: ...".
void warn(const std::vector<std::string>& messages) {
  for (const auto& msg : messages)
    if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 2) != 0) throw py::error_already_set();
}

struct PyModel {
  Model model;    // never changed after load: forward() is const and safe from several threads
  fs::path dir;   // where it was loaded from (tokenizer files to copy on save)
  int threads = 0;
};

// A NumPy integer array as a borrowed tensor (no copy): the caller keeps `arr` alive.
Tensor input_tensor(const py::object& obj, const char* name, py::array& arr) {
  if (obj.is_none()) return Tensor();
  arr = py::isinstance<py::array>(obj) ? obj.cast<py::array>() : py::module_::import("numpy").attr("asarray")(obj).cast<py::array>();
  const py::dtype dt = arr.dtype();
  const char kind = dt.kind();
  DType d;
  if (kind == 'b') d = DType::Bool;
  else if (kind == 'i' && dt.itemsize() == 8) d = DType::I64;
  else if (kind == 'i' && dt.itemsize() == 4) d = DType::I32;
  else if (kind == 'i' && dt.itemsize() == 2) d = DType::I16;
  else if (kind == 'i' && dt.itemsize() == 1) d = DType::I8;
  else if (kind == 'u' && dt.itemsize() == 1) d = DType::U8;
  else
    throw py::type_error(std::string(name) + " must be an integer array (int64 or int32), got " +
                         py::str(py::handle(dt)).cast<std::string>());
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " is not C-contiguous; pass np.ascontiguousarray(" + name + ")");
  if (dt.attr("byteorder").cast<std::string>() == ">")
    throw py::value_error(std::string(name) + " is big-endian; pass " + name + ".astype('=i8')");
  Shape shape(arr.shape(), arr.shape() + arr.ndim());
  if (arr.size() == 0) throw py::value_error(std::string(name) + " is empty (shape " + shape_str(shape) + ")");
  return Tensor::borrow(d, shape, const_cast<void*>(arr.data()), nullptr);
}

// [B, C, L] multiple-choice inputs run as [B*C, L] rows (as `ernie run`).
Tensor flatten_choices(const Tensor& t) {
  if (!t.defined() || t.rank() != 3) return t;
  return t.reshaped({t.dim(0) * t.dim(1), t.dim(2)});
}

py::object model_output(py::dict d) {
  // Leaked on purpose: a static py::object would be released after the interpreter is gone.
  static const auto* cls = new py::object(py::module_::import("ernie").attr("ModelOutput"));
  return (*cls)(d);
}

py::object forward(const PyModel& self, const py::object& input_ids, const py::object& attention_mask,
                   const py::object& token_type_ids, const py::object& task_type_ids, bool output_embeddings) {
  py::array a_ids, a_mask, a_types, a_tasks;
  const Tensor ids = input_tensor(input_ids, "input_ids", a_ids);
  if (!ids.defined()) throw py::value_error("input_ids is required");
  const Config& cfg = self.model.config();
  const bool choices = ids.rank() == 3;
  if (choices && cfg.head() != Head::MultipleChoice)
    throw Error("input_ids is [batch, choices, length] but the model is not a multiple-choice model");
  PaddedInputs padded{flatten_choices(ids), flatten_choices(input_tensor(attention_mask, "attention_mask", a_mask)),
                      flatten_choices(input_tensor(token_type_ids, "token_type_ids", a_types)),
                      flatten_choices(input_tensor(task_type_ids, "task_type_ids", a_tasks))};
  PackOptions pack;
  pack.mask = self.model.default_mask_rule();
  std::map<std::string, Tensor> result;
  {
    py::gil_scoped_release nogil;
    ThreadScope threads(self.threads);
    const Batch batch = pack_padded(padded, cfg, pack);
    const Outputs out = self.model.forward(batch);
    result["last_hidden_state"] = unpack_padded(out.last_hidden_state, batch);
    if (output_embeddings) result["embedding_output"] = unpack_padded(out.embedding_output, batch);
    if (out.pooler_output.defined()) result["pooler_output"] = out.pooler_output;
    if (out.logits.defined()) {
      if (out.logits_per_token) result["logits"] = unpack_padded(out.logits, batch);
      else if (choices) result["logits"] = out.logits.reshaped({ids.dim(0), ids.dim(1)});
      else result["logits"] = out.logits;
    }
    if (out.start_logits.defined()) {
      result["start_logits"] = unpack_padded(out.start_logits, batch);
      result["end_logits"] = unpack_padded(out.end_logits, batch);
    }
    if (out.seq_relationship_logits.defined()) result["seq_relationship_logits"] = out.seq_relationship_logits;
  }
  // transformers' order: the head's outputs first.
  py::dict d;
  for (const char* k : {"logits", "start_logits", "end_logits", "seq_relationship_logits", "last_hidden_state",
                        "pooler_output", "embedding_output"})
    if (auto it = result.find(k); it != result.end()) d[k] = to_numpy(it->second);
  return model_output(d);
}

// `ernie convert`'s options, then ernie::save_model_folder.
void save_model(const Model& model, const fs::path& src, const fs::path& dst, const std::string& dtype,
                const std::string& format) {
  DType d;
  if (dtype == "f32") d = DType::F32;
  else if (dtype == "f16") d = DType::F16;
  else if (dtype == "bf16") d = DType::BF16;
  else throw Error("dtype must be f32, f16 or bf16, not '" + dtype + "'");
  if (format != "hf" && format != "paddle") throw Error("format must be hf or paddle, not '" + format + "'");
  save_model_folder(model, dst, d, format == "paddle" ? WeightLayout::Paddle : WeightLayout::HuggingFace, src);
}

std::vector<std::string> unused_notes(const Model& m, const char* suffix) {
  std::vector<std::string> out;
  for (const auto& note : m.load_notes())
    if (note.rfind("unused", 0) == 0) out.push_back(note + suffix);
  return out;
}

PyModel load(const py::object& dir_obj, const std::optional<std::string>& dtype, std::optional<int> threads) {
  if (threads && *threads < 0) throw py::value_error("threads must be positive (or None for OpenMP's default)");
  PyModel m{Model(), path_arg(dir_obj), threads.value_or(0)};
  {
    py::gil_scoped_release nogil;
    ThreadScope ts(m.threads);
    // Given a dtype, for that type only (no fp32 copy beside bf16 or int8 weights; it cannot switch anyway).
    m.model = dtype ? Model::load(m.dir, parse_compute_type(*dtype)) : Model::load(m.dir);
  }
  warn(unused_notes(m.model, ""));
  return m;
}

// `ernie init`: config.json + model.safetensors (+ vocab.txt) of a freshly initialized model.
std::string init(const py::object& config, const py::object& out, uint64_t seed, const py::object& vocab,
                 const std::string& style, bool strict) {
  if (style != "hf" && style != "paddle") throw py::value_error("init must be 'hf' or 'paddle', not '" + style + "'");
  Config cfg;
  std::vector<std::string> warnings;
  if (py::isinstance<Config>(config)) {
    cfg = config.cast<Config>();
  } else {
    ConfigOptions opts;
    opts.strict = strict;
    std::vector<ConfigDiagnostic> diags;
    cfg = load_config(path_arg(config), opts, &diags);
    for (const auto& d : diags) warnings.push_back(d.message);
  }
  warn(warnings);
  const fs::path dir = path_arg(out);
  const fs::path vocab_path = vocab.is_none() ? fs::path() : fs::path(path_arg(vocab));
  py::gil_scoped_release nogil;
  init_model_folder(cfg, dir, seed, style == "paddle" ? InitStyle::PaddleNLP : InitStyle::HuggingFace, vocab_path);
  return dir.string();
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<PyModel>(m, "Model", "An encoder with its head; call it on padded [B, L] integer arrays")
      .def_static("load", &load, py::arg("path"), py::kw_only(), py::arg("dtype") = py::none(),
                  py::arg("threads") = py::none(),
                  "A model folder in any checkpoint format. dtype: f32, bf16 or int8 (default: f32; int8 for an "
                  "`ernie quantize` folder); bf16 and int8 keep no fp32 copy, so state_dict() and save() refuse. "
                  "threads: OpenMP threads per call (default: OpenMP's)")
      .def("__call__", &forward, py::arg("input_ids"), py::arg("attention_mask") = py::none(),
           py::arg("token_type_ids") = py::none(), py::arg("task_type_ids") = py::none(), py::kw_only(),
           py::arg("output_embeddings") = false)
      .def_property_readonly("config", [](const PyModel& self) { return self.model.config(); })
      .def_property_readonly("dtype", [](const PyModel& self) { return compute_type_name(self.model.compute_type()); })
      .def_property_readonly("threads", [](const PyModel& self) -> py::object {
        return self.threads > 0 ? py::object(py::int_(self.threads)) : py::none();
      })
      .def_property_readonly("load_notes", [](const PyModel& self) { return self.model.load_notes(); })
      .def_property_readonly("path", [](const PyModel& self) { return self.dir.string(); })
      .def(
          "state_dict",
          [](const PyModel& self) {
            py::dict d;
            for (const auto& [name, t] : self.model.parameters()) d[py::str(name)] = to_numpy(t);
            return d;
          },
          "Parameters with transformers' names as float32 arrays (read-only views)")
      .def(
          "save",
          [](const PyModel& self, const py::object& dir, const std::string& dtype, const std::string& format) {
            const fs::path dst = path_arg(dir);
            py::gil_scoped_release nogil;
            save_model(self.model, self.dir, dst, dtype, format);
            return dst.string();
          },
          py::arg("path"), py::kw_only(), py::arg("dtype") = "f32", py::arg("format") = "hf",
          "As `ernie convert`: config.json + model.safetensors (f32, f16 or bf16; hf or paddle layout) and the "
          "tokenizer files of the folder it was loaded from")
      .def("__repr__", [](const PyModel& self) {
        return "ernie.Model(" + self.model.config().class_name() + ", dtype=" + compute_type_name(self.model.compute_type()) +
               ", path='" + self.dir.string() + "')";
      });

  m.def(
      "convert",
      [](const py::object& src, const py::object& dst, const std::string& dtype, const std::string& format) {
        const fs::path s = path_arg(src), d = path_arg(dst);
        std::error_code ec;
        if (fs::exists(d, ec) && fs::equivalent(s, d, ec)) throw Error("the destination must differ from the source");
        Model model;
        {
          py::gil_scoped_release nogil;
          model = Model::load(s);
        }
        warn(unused_notes(model, " (not written)"));
        py::gil_scoped_release nogil;
        save_model(model, s, d, dtype, format);
        return d.string();
      },
      py::arg("src"), py::arg("dst"), py::kw_only(), py::arg("dtype") = "f32", py::arg("format") = "hf",
      "`ernie convert --model SRC --out DST [--dtype] [--to]`");
  m.def(
      "quantize",
      [](const py::object& src, const py::object& dst) {
        const fs::path s = path_arg(src), d = path_arg(dst);
        py::gil_scoped_release nogil;
        quantize_model_folder(Model::load(s), d, s);
        return d.string();
      },
      py::arg("src"), py::arg("dst"), "`ernie quantize --model SRC --out DST`: an int8 checkpoint");
  m.def("init", &init, py::arg("config"), py::arg("out"), py::kw_only(), py::arg("seed") = 42,
        py::arg("vocab") = py::none(), py::arg("init") = "hf", py::arg("strict") = false,
        "`ernie init --config CONFIG --out OUT [--seed] [--vocab] [--init hf|paddle]`");
}

}  // namespace ernie::py_detail

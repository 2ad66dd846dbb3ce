// ernie.pipeline: transformers' pipeline() over src/pipeline (the same task code as `ernie
// pipeline` and the server); arguments go in and results come out as JSON, in transformers' shapes.
#include <memory>

#include "common.h"
#include "ernie/model.h"
#include "ernie/pipeline.h"
#include "ernie/tokenizer.h"
#include "pipeline/json.h"

namespace ernie::py_detail {

namespace {

struct PyPipeline {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  pipeline::Engine engine;
  pipeline::Task task;
  int threads = 0;
};

std::unique_ptr<PyPipeline> make(const py::object& task, const py::object& model, const py::object& dtype,
                                 const py::object& threads, size_t max_batch_tokens) {
  if (model.is_none()) throw py::value_error("pipeline() needs model=<model folder>");
  const std::string dir = path_arg(model);
  auto p = std::make_unique<PyPipeline>();
  const std::optional<ComputeType> only =
      dtype.is_none() ? std::nullopt : std::optional(parse_compute_type(dtype.cast<std::string>()));
  {
    py::gil_scoped_release nogil;   // a pipeline only infers: no fp32 copy beside a bf16 or int8 one
    p->model = std::make_unique<Model>(only ? Model::load(dir, *only) : Model::load(dir));
    p->tok = std::make_unique<Tokenizer>(Tokenizer::from_folder(dir));
  }
  const auto tasks = pipeline::supported_tasks(p->model->config());
  p->task = task.is_none() ? tasks.front() : pipeline::parse_task(task.cast<std::string>());
  if (std::find(tasks.begin(), tasks.end(), p->task) == tasks.end())
    throw Error(p->model->config().class_name() + " cannot do " + pipeline::task_name(p->task));
  p->engine = pipeline::make_engine(*p->model, *p->tok, max_batch_tokens);
  p->threads = threads.is_none() ? 0 : threads.cast<int>();
  return p;
}

py::object call(const PyPipeline& self, const py::args& args, const py::kwargs& kwargs) {
  nlohmann::json params = nlohmann::json::object(), inputs;
  py::dict kw(kwargs);
  // transformers' question-answering also takes question=..., context=... as keywords.
  if (args.empty() && kw.contains("question") && kw.contains("context")) {
    inputs = {{"question", py_to_json(kw["question"])}, {"context", py_to_json(kw["context"])}};
    kw.attr("pop")("question");
    kw.attr("pop")("context");
  } else if (args.size() == 1) {
    inputs = py_to_json(args[0]);
  } else if (args.size() == 2 && self.task == pipeline::Task::QuestionAnswering) {
    inputs = {{"question", py_to_json(args[0])}, {"context", py_to_json(args[1])}};
  } else {
    throw py::type_error("call the pipeline with its inputs: pipe(text), pipe([texts]), pipe(question=, context=)");
  }
  for (auto item : kw) params[py::str(item.first).cast<std::string>()] = py_to_json(item.second);
  nlohmann::json result;
  {
    py::gil_scoped_release nogil;
    ThreadScope scope(self.threads);
    result = pipeline::call(self.engine, self.task, inputs, params);
  }
  return json_to_py(result);
}

}  // namespace

void bind_pipeline(py::module_& m) {
  py::class_<PyPipeline>(m, "Pipeline", "A task pipeline over a model folder (see ernie.pipeline)")
      .def("__call__", &call)
      .def_property_readonly("task", [](const PyPipeline& p) { return std::string(pipeline::task_name(p.task)); })
      .def_property_readonly("model_config", [](const PyPipeline& p) { return p.model->config().class_name(); });
  m.def("pipeline", &make, py::arg("task") = py::none(), py::arg("model") = py::none(), py::arg("dtype") = py::none(),
        py::arg("threads") = py::none(), py::arg("max_batch_tokens") = 8192,
        "transformers' pipeline(task, model=DIR): text-classification, token-classification, question-answering, "
        "fill-mask, feature-extraction, rerank (task=None: the model head's own)");
}

}  // namespace ernie::py_detail

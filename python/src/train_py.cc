// ernie.train: `ernie train` (include/ernie/trainer.h) with a Python callback per epoch.
#include "common.h"
#include "ernie/trainer.h"

namespace ernie::py_detail {

namespace {

std::filesystem::path opt_path(const py::object& o) { return o.is_none() ? std::filesystem::path() : std::filesystem::path(path_arg(o)); }

}  // namespace

void bind_train(py::module_& m) {
  m.def(
      "train",
      [](const py::object& train, const py::object& out, const py::object& config, const py::object& init_from,
         const py::object& eval, const py::object& vocab, bool lower_case, const std::string& format,
         const py::object& labels, const std::string& text_field, const std::string& text_b_field,
         const std::string& label_field, const std::string& problem_type, bool skip_bad_rows, int epochs,
         int64_t batch_size, int grad_accum, double lr, double warmup_ratio, const std::string& schedule,
         double weight_decay, double max_grad_norm, int64_t max_seq_len, std::optional<double> dropout,
         std::optional<bool> recompute, uint64_t seed, std::optional<int> threads, int early_stop_patience,
         int64_t save_steps, int64_t max_steps, bool resume, bool progress, const py::object& callback,
         const py::object& log) {
        TrainOptions o;
        o.train_file = path_arg(train);
        o.out = path_arg(out);
        o.config = opt_path(config);
        o.init_from = opt_path(init_from);
        o.eval_file = opt_path(eval);
        o.vocab = opt_path(vocab);
        o.labels_file = opt_path(labels);
        o.lowercase = lower_case;
        o.format = format;
        o.text_field = text_field;
        o.text_b_field = text_b_field;
        o.label_field = label_field;
        o.problem_type = problem_type;
        o.skip_bad_rows = skip_bad_rows;
        o.epochs = epochs;
        o.batch_size = batch_size;
        o.grad_accum = grad_accum;
        o.lr = lr;
        o.warmup_ratio = warmup_ratio;
        o.schedule = schedule;
        o.weight_decay = weight_decay;
        o.max_grad_norm = max_grad_norm;
        o.max_seq_len = max_seq_len;
        o.dropout = dropout;
        o.recompute = recompute;
        o.seed = seed;
        o.threads = threads.value_or(0);
        o.early_stop_patience = early_stop_patience;
        o.save_steps = save_steps;
        o.max_steps = max_steps;
        o.resume = resume;
        o.progress = progress;
        py::list history;
        bool stop = false;
        o.stop_requested = [&stop] { return stop; };
        const py::object loads = py::module_::import("json").attr("loads");
        const py::object stderr_print = py::module_::import("sys").attr("stderr").attr("write");
        auto on_epoch = [&](const std::string& line) {
          py::gil_scoped_acquire gil;
          py::object metrics = loads(line);
          history.append(metrics);
          // The callback returning False (not None) stops training after this epoch.
          if (!callback.is_none()) {
            py::object r = callback(metrics);
            if (!r.is_none() && !r.cast<bool>()) stop = true;
          }
        };
        auto on_log = [&](const std::string& msg) {
          py::gil_scoped_acquire gil;
          if (log.is_none()) stderr_print("ernie: " + msg + "\n");
          else log(msg);
        };
        {
          py::gil_scoped_release nogil;
          ThreadScope keep(o.threads);   // run_training sets this thread's OpenMP threads; restored after
          run_training(o, on_epoch, on_log);
        }
        return history;
      },
      py::arg("train"), py::arg("out"), py::kw_only(), py::arg("config") = py::none(),
      py::arg("init_from") = py::none(), py::arg("eval") = py::none(), py::arg("vocab") = py::none(),
      py::arg("lower_case") = true, py::arg("format") = "auto", py::arg("labels") = py::none(),
      py::arg("text_field") = "text", py::arg("text_b_field") = "", py::arg("label_field") = "label",
      py::arg("problem_type") = "", py::arg("skip_bad_rows") = false, py::arg("epochs") = 3,
      py::arg("batch_size") = 32, py::arg("grad_accum") = 1, py::arg("lr") = 5e-5, py::arg("warmup_ratio") = 0.0,
      py::arg("schedule") = "linear", py::arg("weight_decay") = 0.01, py::arg("max_grad_norm") = 1.0,
      py::arg("max_seq_len") = 128, py::arg("dropout") = py::none(), py::arg("recompute") = py::none(),
      py::arg("seed") = 42, py::arg("threads") = py::none(), py::arg("early_stop_patience") = 0,
      py::arg("save_steps") = 0, py::arg("max_steps") = 0, py::arg("resume") = false, py::arg("progress") = false,
      py::arg("callback") = py::none(), py::arg("log") = py::none(),
      "`ernie train` (options as its flags, docs/TRAINING.md). callback(metrics) runs after each epoch; returning "
      "False stops training there. Returns the list of epoch metrics.");
}

}  // namespace ernie::py_detail

// Helpers shared by the binding files: NumPy in and out, JSON <-> Python, the GIL.
#pragma once
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ernie/error.h"
#include "ernie/tensor.h"

namespace ernie::py_detail {

namespace py = pybind11;

// A float32 ernie::Tensor as a NumPy array over the same memory: the capsule keeps a copy of the
// tensor (and so its storage) alive as long as the array lives.
inline py::array to_numpy(const Tensor& t) {
  if (t.dtype() != DType::F32) throw Error(std::string("internal: expected a float32 output, got ") + dtype_name(t.dtype()));
  auto* keep = new Tensor(t);
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  return py::array_t<float>(shape, const_cast<float*>(keep->data<float>()), owner);
}

// An int64 NumPy array of the given shape, filled by the caller.
inline py::array_t<int64_t> new_i64(std::vector<py::ssize_t> shape) { return py::array_t<int64_t>(shape); }

// JSON <-> Python through the json module: exact for every JSON value, and configs are small.
// allow_nan=False: Python writes nan and inf as NaN/Infinity, which are not JSON; its ValueError
// ("Out of range float values are not JSON compliant") says so where nlohmann's parse error would
// point at a literal the user never wrote.
inline py::object json_to_py(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}
inline nlohmann::json py_to_json(const py::handle& o) {
  return nlohmann::json::parse(
      py::module_::import("json").attr("dumps")(o, py::arg("allow_nan") = false).cast<std::string>());
}

// A path argument: str or os.PathLike.
inline std::string path_arg(const py::handle& o) {
  return py::str(py::module_::import("os").attr("fspath")(o)).cast<std::string>();
}

// Python str -> UTF-8 without a second copy (the view lives as long as the str object).
inline std::string_view utf8_view(const py::handle& s, const char* what) {
  if (!PyUnicode_Check(s.ptr())) throw py::type_error(std::string(what) + " must be str, got " + py::str(py::type::of(s).attr("__name__")).cast<std::string>());
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s.ptr(), &n);
  if (!p) throw py::error_already_set();
  return {p, static_cast<size_t>(n)};
}

// OpenMP threads of the calling thread for one call (omp_set_num_threads is per thread, so
// concurrent callers with different settings do not disturb each other).
class ThreadScope {
 public:
  explicit ThreadScope(int n) : saved_(n > 0 ? omp_get_max_threads() : 0) {
    if (n > 0) omp_set_num_threads(n);
  }
  ~ThreadScope() {
    if (saved_ > 0) omp_set_num_threads(saved_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

void bind_tokenizer(py::module_& m);
void bind_config(py::module_& m);
void bind_model(py::module_& m);
void bind_train(py::module_& m);
void bind_pipeline(py::module_& m);

}  // namespace ernie::py_detail

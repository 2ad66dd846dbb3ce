// ernie._ernie: the native half of the `ernie` package (python/ernie/__init__.py re-exports it).
// Every engine failure becomes ernie.ErnieError (a ValueError) with the engine's one-line message.
#include <filesystem>

#include "common.h"
#include "ernie/config.h"

namespace py = pybind11;
using namespace ernie::py_detail;

PYBIND11_MODULE(_ernie, m) {
  m.doc() = "ERNIE/BERT/RoBERTa encoders on libernie (see docs/PYTHON.md)";
  m.attr("__version__") = ERNIE_VERSION;
  static py::exception<ernie::Error> ernie_error(m, "ErnieError", PyExc_ValueError);
  static py::exception<ernie::ConfigError> config_error(m, "ConfigError", ernie_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ernie::ConfigError& e) {
      config_error(e.what());
    } catch (const ernie::Error& e) {
      ernie_error(e.what());
    } catch (const std::filesystem::filesystem_error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const nlohmann::json::exception& e) {
      ernie_error(e.what());
    }
  });
  bind_tokenizer(m);
  bind_config(m);
  bind_model(m);
  bind_train(m);
  bind_pipeline(m);
}

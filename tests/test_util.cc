#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "ernie/error.h"
#include "ernie/safetensors.h"

namespace fs = std::filesystem;

namespace ernie::testing {

CliResult run_cli(const std::string& args, const std::string& stdin_text) {
  return run_shell(std::string("'") + ERNIE_BIN + "' " + args, stdin_text);
}

std::string mpirun_prefix(int ranks) {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) return "";
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe --bind-to none -np " +
         std::to_string(ranks) + " '" + ERNIE_BIN + "' ";
}

CliResult run_shell(const std::string& command, const std::string& stdin_text) {
  TempDir tmp;
  write_file(tmp / "stdin", stdin_text);
  std::string cmd = command + " <'" + (tmp / "stdin").string() + "' >'" + (tmp / "stdout").string() + "' 2>'" +
                    (tmp / "stderr").string() + "'";
  int rc = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = read_file(tmp / "stdout");
  r.err = read_file(tmp / "stderr");
  return r;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("ernie-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path source_dir() { return ERNIE_SOURCE_DIR; }
fs::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }

fs::path shared_dir() {
  fs::path p = source_dir().parent_path() / "shared";
  return fs::is_directory(p / "data") ? p : fs::path();
}

std::vector<float> randn(size_t n, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

double weight_difference(const std::filesystem::path& a, const std::filesystem::path& b) {
  const TensorFile ta = read_safetensors(a / "model.safetensors"), tb = read_safetensors(b / "model.safetensors");
  if (ta.tensors.size() != tb.tensors.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (const auto& [name, t] : tb.tensors) {
    const auto it = ta.tensors.find(name);
    if (it == ta.tensors.end() || it->second.numel() != t.numel()) return std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < t.numel(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(it->second.data<float>()[i]) - t.data<float>()[i]) /
                                  (1.0 + std::abs(t.data<float>()[i])));
  }
  return worst;
}

}  // namespace ernie::testing

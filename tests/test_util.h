// Helpers shared by the tests: running the CLI, temporary folders, and ../shared lookup.
#pragma once
#include <filesystem>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ernie::testing {

struct CliResult {
  int status = -1;       // exit status
  std::string out, err;  // captured stdout and stderr
};

// Runs build/bin/ernie with `args` (a shell-quoted argument string) and optional stdin text.
CliResult run_cli(const std::string& args, const std::string& stdin_text = "");
// Runs a shell command line the same way.
CliResult run_shell(const std::string& command, const std::string& stdin_text = "");
// mpirun's command line for `ranks` processes of build/bin/ernie on this machine, in the test
// environment (Open MPI refuses root unless told: CI runs as root). Empty when mpirun is absent.
std::string mpirun_prefix(int ranks);

// A fresh empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
 private:
  std::filesystem::path path_;
};

std::filesystem::path source_dir();                 // the repository root
std::filesystem::path fixtures_dir();               // tests/fixtures
// ../shared beside the repository root; empty when absent (tests then GTEST_SKIP with a reason).
std::filesystem::path shared_dir();
std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);
// n draws of N(0, scale²) from a seeded std::mt19937_64: test inputs.
std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f);
// Largest |a - b| / (1 + |b|) over every tensor of two model folders' model.safetensors; infinity
// when their tensors differ in names or sizes.
double weight_difference(const std::filesystem::path& a, const std::filesystem::path& b);
// The message of the ernie::Error that f throws; "" when it throws none.
std::string error_of(const std::function<void()>& f);

}  // namespace ernie::testing

#define SKIP_WITHOUT_SHARED()                                                          \
  do {                                                                                 \
    if (::ernie::testing::shared_dir().empty())                                        \
      GTEST_SKIP() << "../shared is absent: this test needs ../shared (data/golden)";  \
  } while (0)

#define SKIP_WITHOUT_MPIRUN()                                                                       \
  do {                                                                                              \
    if (::ernie::testing::mpirun_prefix(2).empty()) GTEST_SKIP() << "mpirun is absent (Debian openmpi-bin)"; \
  } while (0)

// One exception type for every user-facing failure: its message is a single line that names
// what is wrong (a field, a tensor, a file) and is printed as-is by the CLI.
#pragma once
#include <stdexcept>
#include <string>

namespace ernie {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace ernie

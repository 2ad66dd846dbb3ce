// Helpers of the dataset reader tests (train_data_test.cc, train_data_conll_test.cc).
#pragma once
#include <filesystem>
#include <string>

#include "ernie/dataset.h"
#include "test_util.h"

namespace ernie::testing {

// Runs read_dataset and returns the error message ("" when it succeeds).
inline std::string error_of(const std::filesystem::path& file, const DataOptions& o, LabelSet& labels, bool may_add) {
  return error_of([&] { read_dataset(file, o, labels, may_add); });
}

// The same on `text` written to dir/name first.
inline std::string error_of(const TempDir& dir, const std::string& name, const std::string& text,
                            DataOptions o = {}, LabelSet labels = {}, bool may_add = true) {
  write_file(dir / name, text);
  return error_of(dir / name, o, labels, may_add);
}

}  // namespace ernie::testing

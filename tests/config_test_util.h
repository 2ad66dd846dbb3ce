// Helpers of the config tests (config_test.cc, config_cli_test.cc).
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ernie::testing {

// The seed config (configs/ernie-1.0-base-zh.json): its path and its document.
inline std::filesystem::path seed_path() { return source_dir() / "configs" / "ernie-1.0-base-zh.json"; }
inline nlohmann::json seed() { return nlohmann::json::parse(read_file(seed_path())); }

// Sets each key of `patch` on `doc` (null removes it); objects are replaced, not merged.
inline nlohmann::json with(nlohmann::json doc, const nlohmann::json& patch) {
  for (const auto& [k, v] : patch.items()) {
    if (v.is_null())
      doc.erase(k);
    else
      doc[k] = v;
  }
  return doc;
}

}  // namespace ernie::testing

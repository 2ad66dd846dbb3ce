// Sharded checkpoints: `model.safetensors.index.json`, `pytorch_model.bin.index.json` or
// `model_state.pdparams.index.json` = {"metadata": {...}, "weight_map": {tensor: shard file}}.
// Shard names must be plain file names in the index's folder; each shard is read once (any
// format, detected from its bytes); every tensor the map lists must be in its shard, and no
// tensor may appear in two shards.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checkpoint/formats.h"
#include "checkpoint/pickle.h"
#include "ernie/error.h"

namespace ernie::checkpoint {

Checkpoint read_sharded_index(const std::filesystem::path& index, const ReadLimits& limits) {
  const std::string what = index.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(index, ec);
  if (ec) throw Error(what + ": cannot read: " + ec.message());
  if (size > (64u << 20)) throw Error(what + ": index file is larger than 64 MiB");
  std::ifstream in(index, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": not valid JSON: " + pickle::printable(e.what(), 200));
  }
  if (!doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object())
    throw Error(what + ": no \"weight_map\" object");

  std::map<std::string, std::vector<std::string>> by_shard;   // shard -> tensors it should hold
  for (const auto& [name, shard] : doc["weight_map"].items()) {
    if (!shard.is_string()) throw Error(what + ": weight_map entry '" + pickle::printable(name) + "' is not a file name");
    const std::string s = shard.get<std::string>();
    if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
      throw Error(what + ": shard name '" + pickle::printable(s) + "' is not a plain file name (refused)");
    by_shard[s].push_back(name);
  }
  if (by_shard.empty()) throw Error(what + ": weight_map is empty");

  Checkpoint c;
  c.format = CheckpointFormat::Sharded;
  c.files.push_back(index);
  if (doc.contains("metadata") && doc["metadata"].is_object())
    for (const auto& [k, v] : doc["metadata"].items()) c.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
  const auto dir = index.parent_path();
  for (const auto& [shard, names] : by_shard) {
    const auto path = dir / shard;
    if (!std::filesystem::is_regular_file(path)) throw Error(what + ": shard " + shard + " is missing");
    Checkpoint part = read_checkpoint_file(path, limits);
    for (const auto& n : names)
      if (!part.tensors.count(n)) throw Error(what + ": tensor '" + pickle::printable(n) + "' is not in its shard " + shard);
    for (auto& [n, t] : part.tensors) {
      if (c.tensors.count(n)) throw Error(what + ": tensor '" + pickle::printable(n) + "' appears in two shards");
      if (std::find(names.begin(), names.end(), n) == names.end())
        c.notes.push_back("tensor " + pickle::printable(n) + " in " + shard + " is not in the weight_map");
      c.tensors.emplace(n, std::move(t));
    }
    for (const auto& [k, v] : part.metadata) c.metadata.emplace(k, v);
    c.files.push_back(path);
    c.notes.push_back("shard " + shard + " (" + to_string(part.format) + ", " + std::to_string(part.tensors.size()) + " tensors)");
  }
  return c;
}

}  // namespace ernie::checkpoint

// `ernie inspect PATH [--json]`: the tensors of a checkpoint in any format (safetensors,
// pytorch_model.bin, .pdparams, sharded index) or of a model folder, as stored (source names and
// layout), with per-tensor statistics, totals, what the reader found (pickle protocol, globals,
// ignored entries, shared storages), the detected layout, and for a folder a summary of its config.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "ernie/checkpoint.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/safetensors.h"
#include "ernie/tensor.h"

namespace fs = std::filesystem;

namespace ernie::cli {
namespace {

bool is_float_dtype(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}

// Summary statistics of one tensor: mean/std (population) for floats, min/max for integers.
struct Stats {
  bool is_float = false;
  bool empty = true;
  double mean = 0, std = 0;
  int64_t min = 0, max = 0;
  int64_t nonfinite = 0;  // NaN/Inf count (floats); mean and std then come out non-finite too
};

template <class T>
void float_stats(const T* v, int64_t n, Stats* s) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(v[i]);
    if (!std::isfinite(x)) ++s->nonfinite;
    sum += x;
  }
  s->mean = sum / static_cast<double>(n);
  double sq = 0;  // second pass: numerically safer than sum of squares
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(v[i]) - s->mean;
    sq += d * d;
  }
  s->std = std::sqrt(sq / static_cast<double>(n));
}

Stats compute_stats(const Tensor& t) {
  Stats s;
  s.is_float = is_float_dtype(t.dtype());
  const int64_t n = t.numel();
  if (n == 0) return s;
  s.empty = false;
  if (t.dtype() == DType::F64) {
    float_stats(t.data<double>(), n, &s);  // already double: no need to narrow
  } else if (s.is_float) {
    const Tensor f = t.to_f32();
    float_stats(f.data<float>(), n, &s);
  } else {
    const std::vector<int64_t> v = t.to_i64();
    s.min = s.max = v[0];
    for (int64_t x : v) {
      s.min = std::min(s.min, x);
      s.max = std::max(s.max, x);
    }
  }
  return s;
}

std::string fmt_g(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// 12345678 -> "12,345,678"
std::string group_digits(uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

struct Target {
  Checkpoint checkpoint;           // tensors as stored (source names and layout)
  std::unique_ptr<Config> config;  // set for a model folder
};

// A model folder (config.json + weights in any format) or one checkpoint file of any format
// (safetensors, pytorch_model.bin, .pdparams, *.index.json), recognized by its first bytes.
Target resolve(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error(path.string() + ": no such file or folder");
  Target t;
  if (fs::is_directory(st)) {
    if (find_weights_file(path).empty())
      throw Error(path.string() + ": not a model folder (no model.safetensors, pytorch_model.bin, model_state.pdparams "
                                  "or sharded index)");
    t.checkpoint = read_checkpoint_dir(path);
    std::vector<ConfigDiagnostic> warnings;
    t.config = std::make_unique<Config>(load_config(path, {}, &warnings));
    for (const auto& w : warnings) warn(w.message);
    return t;
  }
  if (!fs::is_regular_file(st)) throw Error(path.string() + ": not a regular file or folder");
  t.checkpoint = read_checkpoint_file(path);
  return t;
}

nlohmann::json config_json(const Config& c) {
  return {
      {"model_type", to_string(c.model_type)},
      {"architecture", c.architectures.empty() ? std::string() : c.architectures[0]},
      {"head", to_string(c.head())},
      {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"intermediate_size", c.intermediate_size},
      {"vocab_size", c.vocab_size},
      {"hidden_act", to_string(c.hidden_act)},
      {"max_position_embeddings", c.max_position_embeddings},
      {"position_embedding", to_string(c.position_kind)},
      {"num_labels", c.num_labels()},
  };
}

void run_inspect(const std::string& path_arg, bool as_json) {
  const Target target = resolve(path_arg);
  const Checkpoint& file = target.checkpoint;
  std::string layout_reason;
  const WeightLayout layout = detect_layout(file.tensors, file.metadata, &layout_reason);
  std::string files;
  for (const auto& f : file.files) files += (files.empty() ? "" : ", ") + f.string();

  uint64_t total_params = 0, total_bytes = 0;
  nlohmann::json tensors = nlohmann::json::array();
  struct Row {
    std::string name, dtype, shape, stats;
  };
  std::vector<Row> rows;
  for (const auto& [name, t] : file.tensors) {
    const Stats s = compute_stats(t);
    total_params += static_cast<uint64_t>(t.numel());
    total_bytes += t.nbytes();

    nlohmann::json j = {{"name", name},
                        {"dtype", dtype_name(t.dtype())},
                        {"shape", t.shape()},
                        {"numel", t.numel()},
                        {"bytes", t.nbytes()}};
    std::string stats;
    if (s.empty) {
      stats = "(empty)";
    } else if (s.is_float) {
      j["mean"] = s.mean;  // NaN/Inf are written as null
      j["std"] = s.std;
      j["nonfinite"] = s.nonfinite;
      stats = "mean " + fmt_g(s.mean) + "  std " + fmt_g(s.std);
      if (s.nonfinite) stats += "  (" + std::to_string(s.nonfinite) + " non-finite)";
    } else {
      j["min"] = s.min;
      j["max"] = s.max;
      stats = "min " + std::to_string(s.min) + "  max " + std::to_string(s.max);
    }
    tensors.push_back(std::move(j));
    rows.push_back({name, dtype_name(t.dtype()), shape_str(t.shape()), std::move(stats)});
  }

  if (as_json) {
    nlohmann::json out = {{"path", path_arg},
                          {"file", file.files.front().string()},
                          {"files", files},
                          {"format", to_string(file.format)},
                          {"layout", to_string(layout)},
                          {"layout_reason", layout_reason},
                          {"notes", file.notes},
                          {"metadata", file.metadata},
                          {"tensors", std::move(tensors)},
                          {"num_tensors", file.tensors.size()},
                          {"total_parameters", total_params},
                          {"total_bytes", total_bytes}};
    if (target.config) out["config"] = config_json(*target.config);
    std::cout << out.dump(2) << "\n";
    return;
  }

  std::ostringstream os;
  os << "file: " << files << "\n";
  os << "format: " << to_string(file.format) << ", layout: " << to_string(layout) << " (" << layout_reason << ")\n";
  for (const auto& note : file.notes) os << "found: " << note << "\n";
  if (!file.metadata.empty()) {
    os << "metadata:";
    for (const auto& [k, v] : file.metadata) os << " " << k << "=" << v;
    os << "\n";
  }
  if (target.config) {
    const Config& c = *target.config;
    os << "config: " << to_string(c.model_type);
    if (!c.architectures.empty()) os << " (" << c.architectures[0] << ")";
    os << ", head " << to_string(c.head()) << ", hidden_size " << c.hidden_size << ", layers "
       << c.num_hidden_layers << ", heads " << c.num_attention_heads << ", intermediate_size "
       << c.intermediate_size << ", vocab_size " << c.vocab_size << ", act "
       << to_string(c.hidden_act) << ", positions " << to_string(c.position_kind) << " ("
       << c.max_position_embeddings << ")\n";
  }

  size_t wn = 4, wd = 5, ws = 5;  // column widths, at least the titles
  for (const Row& r : rows) {
    wn = std::max(wn, r.name.size());
    wd = std::max(wd, r.dtype.size());
    ws = std::max(ws, r.shape.size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - s.size(), ' '); };
  os << pad("name", wn) << "  " << pad("dtype", wd) << "  " << pad("shape", ws) << "  stats\n";
  for (const Row& r : rows)
    os << pad(r.name, wn) << "  " << pad(r.dtype, wd) << "  " << pad(r.shape, ws) << "  " << r.stats
       << "\n";
  os << "total: " << rows.size() << " tensors, " << group_digits(total_params) << " parameters, "
     << group_digits(total_bytes) << " bytes (" << human_bytes(total_bytes) << ")\n";
  std::cout << os.str();
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "inspect", "List the tensors of a checkpoint (safetensors, pytorch_model.bin, .pdparams, sharded index) or a model "
      "folder, with statistics");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("PATH", *path, "a checkpoint file (.safetensors, .bin, .pdparams, .index.json) or a model folder")
      ->required();
  cmd->add_flag("--json", *as_json, "print a JSON document instead of a table");
  cmd->callback([path, as_json] { run_inspect(*path, *as_json); });
}

}  // namespace ernie::cli

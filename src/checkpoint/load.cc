// Format detection and dispatch: a file's format comes from its first bytes, a folder's weights
// from the usual file names, the weight layout from the tensor names and metadata.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "checkpoint/formats.h"
#include "checkpoint/pickle.h"
#include "ernie/checkpoint.h"
#include "ernie/error.h"
#include "ernie/safetensors.h"

namespace ernie {

namespace fs = std::filesystem;

const char* to_string(CheckpointFormat f) {
  switch (f) {
    case CheckpointFormat::Safetensors: return "safetensors";
    case CheckpointFormat::TorchZip: return "pytorch zip (.bin)";
    case CheckpointFormat::PaddlePickle: return "paddle pickle (.pdparams)";
    case CheckpointFormat::Sharded: return "sharded index";
  }
  return "?";
}

namespace {

// The first 16 bytes (fewer for a short file).
std::string head_bytes(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(file.string() + ": cannot open: " + std::strerror(errno));
  char buf[16];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 0) throw Error(file.string() + ": cannot read: " + std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

Checkpoint read_checkpoint_file(const fs::path& file, const ReadLimits& limits) {
  const std::string what = file.string();
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(what + ": no such file");
  if (!fs::is_regular_file(file, ec)) throw Error(what + ": not a regular file");
  const std::string h = head_bytes(file);
  if (h.empty()) throw Error(what + ": empty file");
  const auto* b = reinterpret_cast<const uint8_t*>(h.data());
  if (h.size() >= 4 && std::memcmp(h.data(), "PK\x03\x04", 4) == 0) return checkpoint::read_torch_zip_file(file, limits);
  if (checkpoint::is_legacy_torch(b, h.size()))
    throw Error(what + ": legacy PyTorch (pre-1.6) serialization is not supported; re-save it with PyTorch >= 1.6 "
                       "(torch.save(torch.load(old), new)) or convert it to safetensors");
  // safetensors first: its 8-byte header length may start with 0x80 like a pickle does.
  uint64_t header_len = 0;
  for (int i = 7; i >= 0 && h.size() >= 8; --i) header_len = (header_len << 8) | b[i];
  const uint64_t file_size = fs::file_size(file, ec);
  const bool safetensors = h.size() >= 9 && h[8] == '{' && header_len + 8 <= file_size;
  const bool st_name = file.extension() == ".safetensors";
  if (!safetensors && !st_name && b[0] == 0x80) return checkpoint::read_pdparams_file(file, limits);
  if (h[0] == '{' && file.extension() == ".json") return checkpoint::read_sharded_index(file, limits);
  if (safetensors || st_name) {   // a damaged .safetensors gets the safetensors reader's precise message
    TensorFile tf = read_safetensors(file);
    Checkpoint c;
    c.format = CheckpointFormat::Safetensors;
    c.files = {file};
    c.tensors = std::move(tf.tensors);
    c.metadata = std::move(tf.metadata);
    return c;
  }
  throw Error(what + ": unknown file type (not safetensors, a PyTorch zip, a pickle or an index)");
}

fs::path find_weights_file(const fs::path& dir) {
  static const char* kNames[] = {"model.safetensors",          "model.safetensors.index.json",
                                 "pytorch_model.bin",          "pytorch_model.bin.index.json",
                                 "model_state.pdparams",       "model_state.pdparams.index.json"};
  std::error_code ec;
  for (const char* n : kNames)
    if (fs::is_regular_file(dir / n, ec)) return dir / n;
  return {};
}

Checkpoint read_checkpoint_dir(const fs::path& dir, const ReadLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": not a folder");
  const fs::path w = find_weights_file(dir);
  if (w.empty())
    throw Error(dir.string() + ": no weights (looked for model.safetensors, pytorch_model.bin, model_state.pdparams "
                               "and their .index.json)");
  return read_checkpoint_file(w, limits);
}

LoadedWeights load_weights(const fs::path& dir, const Config& cfg, const ReadLimits& limits) {
  LoadedWeights w;
  w.checkpoint = read_checkpoint_dir(dir, limits);
  w.layout = detect_layout(w.checkpoint.tensors, w.checkpoint.metadata, &w.layout_reason);
  if (w.layout == WeightLayout::Paddle) {
    try {
      w.checkpoint.tensors = paddle_to_hf(w.checkpoint.tensors, cfg);
    } catch (const Error& e) {
      throw Error(w.checkpoint.files.front().string() + ": " + e.what());
    }
  }
  return w;
}

}  // namespace ernie

// Model folders written as the init, convert and quantize commands write them (ernie/model_folder.h).
#include "ernie/model_folder.h"

#include "ernie/error.h"
#include "ernie/rng.h"
#include "ernie/safetensors.h"
#include "kernels/kernels.h"

namespace fs = std::filesystem;

namespace ernie {

namespace {

bool is_encoder_linear(const std::string& name) {
  static const char* kSuffixes[] = {"attention.self.query.weight", "attention.self.key.weight",
                                    "attention.self.value.weight", "attention.output.dense.weight",
                                    "intermediate.dense.weight",   "output.dense.weight"};
  if (name.find("encoder.layer.") == std::string::npos) return false;
  for (const char* s : kSuffixes) {
    const std::string suf = s;
    if (name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0) return true;
  }
  return false;
}

void count(FolderReport& r, const std::map<std::string, Tensor>& tensors) {
  r.tensors = static_cast<int64_t>(tensors.size());
  for (const auto& [name, t] : tensors) r.parameters += t.numel();
}

}  // namespace

bool is_tokenizer_file(const std::string& name) {
  static const char* kNames[] = {"vocab.txt",         "vocab.json",           "merges.txt",
                                 "tokenizer.json",    "tokenizer_config.json", "special_tokens_map.json",
                                 "added_tokens.json", "sentencepiece.bpe.model", "spm.model",
                                 "vocab.plain.txt",   "sentencepiece.model"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

FolderReport init_model_folder(Config cfg, const fs::path& out, uint64_t seed, InitStyle style, const fs::path& vocab) {
  // Name the architecture so that transformers builds the same head from the folder.
  if (cfg.architectures.empty()) cfg.architectures = {cfg.class_name()};
  if (!vocab.empty() && !fs::is_regular_file(vocab)) throw Error("vocab file " + vocab.string() + " does not exist");
  const auto params = init_parameters(cfg, seed, style);
  fs::create_directories(out);
  save_config(cfg, out / "config.json", ConfigSource::HuggingFace);
  write_safetensors(out / "model.safetensors", params, {{"format", "pt"}});
  FolderReport r;
  count(r, params);
  if (!vocab.empty()) {
    fs::copy_file(vocab, out / "vocab.txt", fs::copy_options::overwrite_existing);
    r.copied_files = 1;
  }
  return r;
}

FolderReport save_model_folder(const Model& model, const fs::path& dst, DType dtype, WeightLayout layout,
                               const fs::path& src_dir) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    throw Error(std::string("weights can be written as F32, F16 or BF16, not ") + dtype_name(dtype));
  const bool to_paddle = layout == WeightLayout::Paddle;
  std::error_code ec;
  if (fs::exists(dst, ec) && !fs::is_directory(dst, ec)) throw Error(dst.string() + ": exists and is not a folder");
  if (!src_dir.empty() && fs::exists(dst, ec) && fs::equivalent(src_dir, dst, ec))
    throw Error("the output folder must differ from the model's folder");
  const Config& cfg = model.config();
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : model.parameters()) tensors[name] = dtype == DType::F32 ? t : t.to(dtype);
  if (to_paddle) tensors = hf_to_paddle(tensors, cfg);
  fs::create_directories(dst, ec);
  if (ec) throw Error(dst.string() + ": cannot create folder: " + ec.message());
  save_config(cfg, dst / "config.json", to_paddle ? ConfigSource::PaddleNLP : ConfigSource::HuggingFace);
  write_safetensors(dst / "model.safetensors", tensors, {{"format", to_paddle ? "np" : "pt"}});
  FolderReport r;
  count(r, tensors);
  if (src_dir.empty()) return r;
  for (const auto& entry : fs::directory_iterator(src_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !is_tokenizer_file(name)) continue;
    fs::copy_file(entry.path(), dst / name, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error((dst / name).string() + ": cannot copy: " + ec.message());
    ++r.copied_files;
  }
  return r;
}

FolderReport quantize_model_folder(const Model& model, const fs::path& dst, const fs::path& src_dir) {
  if (model.compute_type() == ComputeType::Int8)
    throw Error((src_dir.empty() ? std::string("the model") : src_dir.string()) + " is already an int8 checkpoint");
  FolderReport r;
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : model.parameters()) {
    r.bytes_before += static_cast<int64_t>(t.nbytes());
    if (is_encoder_linear(name) && t.rank() == 2) {
      const int64_t N = t.dim(0), K = t.dim(1);
      Tensor q = Tensor::empty(DType::I8, {N, K});
      Tensor scale = Tensor::empty(DType::F32, {N});
      kernels::quantize_weights(t.data<float>(), K, N, q.data<int8_t>(), scale.data<float>());
      r.bytes_after += static_cast<int64_t>(q.nbytes() + scale.nbytes());
      out[name] = q;
      out[name + "_scale"] = scale;
      ++r.quantized;
    } else {
      r.bytes_after += static_cast<int64_t>(t.nbytes());
      out[name] = t;
    }
  }
  fs::create_directories(dst);
  save_config(model.config(), dst / "config.json", ConfigSource::HuggingFace);
  write_safetensors(dst / "model.safetensors", out, {{"format", "pt"}, {"ernie_quantization", "int8-dynamic"}});
  count(r, out);
  if (!src_dir.empty() && fs::exists(src_dir / "vocab.txt")) {
    fs::copy_file(src_dir / "vocab.txt", dst / "vocab.txt", fs::copy_options::overwrite_existing);
    r.copied_files = 1;
  }
  return r;
}

PositionInit parse_position_init(const std::string& name) {
  if (name == "copy") return PositionInit::Copy;
  if (name == "interpolate") return PositionInit::Interpolate;
  if (name == "random") return PositionInit::Random;
  throw Error("--init must be copy, interpolate or random, not '" + name + "'");
}

FolderReport resize_positions(const Model& model, int64_t positions, PositionInit rule, const fs::path& dst,
                              const fs::path& src_dir, uint64_t seed) {
  Config cfg = model.config();
  if (cfg.position_kind == PositionKind::Sinusoidal)
    throw Error("a sinusoidal position table is computed, not trained: set max_position_embeddings in config.json");
  if (cfg.position_kind != PositionKind::Absolute)
    throw Error("resize-positions handles absolute position tables, not " + std::string(to_string(cfg.position_kind)));
  const int64_t old_n = cfg.max_position_embeddings, first = cfg.position_offset(), H = cfg.hidden_size;
  if (positions <= first + 1) throw Error("--max-positions must be more than " + std::to_string(first + 1));
  const std::string name = cfg.base_prefix() + ".embeddings.position_embeddings.weight";
  std::map<std::string, Tensor> params;
  for (const auto& [n, t] : model.parameters()) params[n] = t;
  const auto it = params.find(name);
  if (it == params.end()) throw Error("the model has no " + name);
  const float* old_t = it->second.data<float>();
  Tensor table = Tensor::empty(DType::F32, {positions, H});
  float* t = table.data<float>();
  const int64_t trained = old_n - first;
  for (int64_t p = 0; p < std::min(positions, old_n); ++p) std::copy(old_t + p * H, old_t + (p + 1) * H, t + p * H);
  if (positions > old_n) {
    if (rule == PositionInit::Copy) {
      for (int64_t p = old_n; p < positions; ++p) {
        const int64_t src = first + (p - first) % trained;
        std::copy(old_t + src * H, old_t + (src + 1) * H, t + p * H);
      }
    } else if (rule == PositionInit::Random) {
      const CounterRng rng(seed, stable_hash(name.c_str()));
      for (int64_t i = old_n * H; i < positions * H; ++i)
        t[i] = static_cast<float>(cfg.initializer_range) * rng.normal(static_cast<uint64_t>(i));
    }
  }
  if (rule == PositionInit::Interpolate && positions > old_n) {
    const int64_t now = positions - first;
    for (int64_t j = 0; j < now; ++j) {
      const double x = now == 1 ? 0.0 : static_cast<double>(j) * static_cast<double>(trained - 1) / static_cast<double>(now - 1);
      const auto lo = static_cast<int64_t>(x);
      const int64_t hi = std::min(lo + 1, trained - 1);
      const double w = x - static_cast<double>(lo);
      for (int64_t k = 0; k < H; ++k)
        t[(first + j) * H + k] = static_cast<float>((1 - w) * old_t[(first + lo) * H + k] + w * old_t[(first + hi) * H + k]);
    }
  }
  params[name] = table;
  cfg.max_position_embeddings = positions;
  return save_model_folder(Model::from_tensors(cfg, params), dst, DType::F32, WeightLayout::HuggingFace, src_dir);
}

}  // namespace ernie

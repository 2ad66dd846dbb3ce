// ernie quantize: an int8 checkpoint. Every encoder Linear weight is stored as I8 [out, in]
// (per-output-channel symmetric, 7-bit range [-63, 63]) with NAME.weight_scale F32 [out]; everything
// else (embeddings, LayerNorms, biases, heads) stays as it was. Loading such a folder runs in int8
// with exactly these weights (activations are quantized per token at run time).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"
#include "kernels/kernels.h"

namespace ernie::cli {

namespace {

struct QuantizeOptions {
  std::string model, out;
};

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

void quantize(const QuantizeOptions& o) {
  const Model model = Model::load(o.model);
  if (model.compute_type() == ComputeType::Int8) throw Error(o.model + " is already an int8 checkpoint");
  std::map<std::string, Tensor> out;
  int64_t quantized = 0, bytes_before = 0, bytes_after = 0;
  for (const auto& [name, t] : model.parameters()) {
    bytes_before += t.nbytes();
    if (is_encoder_linear(name) && t.rank() == 2) {
      const int64_t N = t.dim(0), K = t.dim(1);
      Tensor q = Tensor::empty(DType::I8, {N, K});
      Tensor scale = Tensor::empty(DType::F32, {N});
      kernels::quantize_weights(t.data<float>(), K, N, q.data<int8_t>(), scale.data<float>());
      bytes_after += q.nbytes() + scale.nbytes();
      out[name] = q;
      out[name + "_scale"] = scale;
      ++quantized;
    } else {
      bytes_after += t.nbytes();
      out[name] = t;
    }
  }
  const std::filesystem::path dir(o.out);
  std::filesystem::create_directories(dir);
  save_config(model.config(), dir / "config.json", ConfigSource::HuggingFace);
  write_safetensors(dir / "model.safetensors", out, {{"format", "pt"}, {"ernie_quantization", "int8-dynamic"}});
  const std::filesystem::path vocab = std::filesystem::path(o.model) / "vocab.txt";
  if (std::filesystem::exists(vocab))
    std::filesystem::copy_file(vocab, dir / "vocab.txt", std::filesystem::copy_options::overwrite_existing);
  std::cout << "quantized " << quantized << " Linear weights to int8 (" << bytes_before / 1000000 << " MB -> "
            << bytes_after / 1000000 << " MB) in " << dir.string() << "\n";
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Write an int8 checkpoint (dynamic quantization of the encoder's Linear layers)");
  cmd->add_option("--model", o->model, "Model folder (config.json + model.safetensors)")->required();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->callback([o] { quantize(*o); });
}

}  // namespace ernie::cli

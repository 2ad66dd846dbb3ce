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
#include "ernie/model_folder.h"
#include "ernie/safetensors.h"
#include "kernels/kernels.h"

namespace ernie::cli {

namespace {

struct QuantizeOptions {
  std::string model, out;
};

void quantize(const QuantizeOptions& o) {
  const Model model = Model::load(o.model);
  if (model.compute_type() == ComputeType::Int8) throw Error(o.model + " is already an int8 checkpoint");
  const FolderReport r = quantize_model_folder(model, o.out, o.model);
  std::cout << "quantized " << r.quantized << " Linear weights to int8 (" << r.bytes_before / 1000000 << " MB -> "
            << r.bytes_after / 1000000 << " MB) in " << o.out << "\n";
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

// `ernie convert --model SRC --out DST [--dtype f32|f16|bf16] [--to hf|paddle]`
//
// Loads SRC in any checkpoint format and layout (validated exactly as `ernie run` loads it:
// names, shapes, finite values), then writes DST:
//   --to hf (default): config.json in transformers' form, model.safetensors with HF names and
//                      [out, in] Linear weights (metadata format=pt);
//   --to paddle:       config.json in PaddleNLP's form, model.safetensors with PaddleNLP names and
//                      [in, out] Linear weights (metadata format=np, PaddleNLP's unified checkpoint).
// Vocabulary and tokenizer files are copied alongside. Also `ernie resize-positions`.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "ernie/checkpoint.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/model_folder.h"

namespace fs = std::filesystem;

namespace ernie::cli {
namespace {

struct ConvertOptions {
  std::string model, out, dtype = "f32", to = "hf";
};

void run_convert(const ConvertOptions& o) {
  DType dtype;
  if (o.dtype == "f32") dtype = DType::F32;
  else if (o.dtype == "f16") dtype = DType::F16;
  else if (o.dtype == "bf16") dtype = DType::BF16;
  else throw Error("--dtype must be f32, f16 or bf16, not '" + o.dtype + "'");
  if (o.to != "hf" && o.to != "paddle") throw Error("--to must be hf or paddle, not '" + o.to + "'");
  const bool to_paddle = o.to == "paddle";

  const Model model = Model::load(o.model);
  for (const auto& note : model.load_notes())
    if (note.rfind("unused", 0) == 0) warn(note + " (not written)");
  const FolderReport r = save_model_folder(model, o.out, dtype, to_paddle ? WeightLayout::Paddle : WeightLayout::HuggingFace,
                                           o.model);
  std::cout << "wrote " << o.out << ": " << r.tensors << " tensors (" << dtype_name(dtype) << ", "
            << (to_paddle ? "PaddleNLP" : "transformers") << " layout), config.json"
            << (r.copied_files ? ", " + std::to_string(r.copied_files) + " tokenizer file(s)" : std::string()) << "\n";
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert a model folder (safetensors, pytorch_model.bin, .pdparams, sharded; HF or PaddleNLP "
                 "layout) to an HF-layout (or PaddleNLP-layout) safetensors folder");
  cmd->add_option("--model", o->model, "Source model folder")->required();
  cmd->add_option("--out", o->out, "Destination folder (created)")->required();
  cmd->add_option("--dtype", o->dtype, "Weight dtype written: f32 (default), f16 or bf16");
  cmd->add_option("--to", o->to, "Layout written: hf (transformers, default) or paddle (PaddleNLP)");
  cmd->callback([o] { run_convert(*o); });

  // ernie resize-positions: a longer or shorter position table (rules in ernie/model_folder.h).
  struct Resize {
    std::string model, out, init = "copy";
    int64_t positions = 0;
    uint64_t seed = 42;
  };
  auto r = std::make_shared<Resize>();
  CLI::App* rs = app.add_subcommand(
      "resize-positions", "Write a model with a longer (or shorter) position table, to continue pretraining on longer inputs");
  rs->add_option("--model", r->model, "Source model folder")->required();
  rs->add_option("--out", r->out, "Destination folder (created)")->required();
  rs->add_option("--max-positions", r->positions, "Rows of the new table (config max_position_embeddings)")->required();
  rs->add_option("--init", r->init,
                 "New rows: copy (repeat the trained table, as Longformer) | interpolate (resample the trained rows "
                 "linearly) | random (N(0, initializer_range))")
      ->capture_default_str();
  rs->add_option("--seed", r->seed, "Seed of --init random")->capture_default_str();
  rs->callback([r] {
    const Model model = Model::load(r->model);
    const int64_t before = model.config().max_position_embeddings;
    const FolderReport rep = resize_positions(model, r->positions, parse_position_init(r->init), r->out, r->model, r->seed);
    std::cout << "wrote " << r->out << ": position table " << before << " -> " << r->positions << " rows (" << r->init
              << "), " << rep.tensors << " tensors\n";
  });
}

}  // namespace ernie::cli

// `ernie convert --model SRC --out DST [--dtype f32|f16|bf16] [--to hf|paddle]`
//
// Loads SRC in any checkpoint format and layout (validated exactly as `ernie run` loads it:
// names, shapes, finite values), then writes DST:
//   --to hf (default): config.json in transformers' form, model.safetensors with HF names and
//                      [out, in] Linear weights (metadata format=pt);
//   --to paddle:       config.json in PaddleNLP's form, model.safetensors with PaddleNLP names and
//                      [in, out] Linear weights (metadata format=np, PaddleNLP's unified checkpoint).
// Vocabulary and tokenizer files are copied alongside.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "ernie/checkpoint.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"

namespace fs = std::filesystem;

namespace ernie::cli {
namespace {

struct ConvertOptions {
  std::string model, out, dtype = "f32", to = "hf";
};

bool is_tokenizer_file(const std::string& name) {
  static const char* kNames[] = {"vocab.txt",         "vocab.json",           "merges.txt",
                                 "tokenizer.json",    "tokenizer_config.json", "special_tokens_map.json",
                                 "added_tokens.json", "sentencepiece.bpe.model", "spm.model",
                                 "vocab.plain.txt",   "sentencepiece.model"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

void run_convert(const ConvertOptions& o) {
  DType dtype;
  if (o.dtype == "f32") dtype = DType::F32;
  else if (o.dtype == "f16") dtype = DType::F16;
  else if (o.dtype == "bf16") dtype = DType::BF16;
  else throw Error("--dtype must be f32, f16 or bf16, not '" + o.dtype + "'");
  if (o.to != "hf" && o.to != "paddle") throw Error("--to must be hf or paddle, not '" + o.to + "'");
  const bool to_paddle = o.to == "paddle";

  const fs::path src = o.model, dst = o.out;
  std::error_code ec;
  if (fs::exists(dst, ec) && !fs::is_directory(dst, ec)) throw Error(dst.string() + ": exists and is not a folder");
  if (fs::exists(dst, ec) && fs::equivalent(src, dst, ec)) throw Error("--out must differ from --model");

  const Model model = Model::load(src);
  const Config& cfg = model.config();
  for (const auto& note : model.load_notes())
    if (note.rfind("unused", 0) == 0) warn(note + " (not written)");

  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : model.parameters()) tensors[name] = dtype == DType::F32 ? t : t.to(dtype);
  if (to_paddle) tensors = hf_to_paddle(tensors, cfg);

  fs::create_directories(dst, ec);
  if (ec) throw Error(dst.string() + ": cannot create folder: " + ec.message());
  save_config(cfg, dst / "config.json", to_paddle ? ConfigSource::PaddleNLP : ConfigSource::HuggingFace);
  write_safetensors(dst / "model.safetensors", tensors, {{"format", to_paddle ? "np" : "pt"}});

  int copied = 0;
  for (const auto& entry : fs::directory_iterator(src)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !is_tokenizer_file(name)) continue;
    fs::copy_file(entry.path(), dst / name, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error((dst / name).string() + ": cannot copy: " + ec.message());
    ++copied;
  }
  std::cout << "wrote " << dst.string() << ": " << tensors.size() << " tensors (" << dtype_name(dtype) << ", "
            << (to_paddle ? "PaddleNLP" : "transformers") << " layout), config.json"
            << (copied ? ", " + std::to_string(copied) + " tokenizer file(s)" : std::string()) << "\n";
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
}

}  // namespace ernie::cli

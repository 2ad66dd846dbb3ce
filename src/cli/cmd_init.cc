// ernie init: a fresh model folder (config.json + model.safetensors, HF layout) from a config.
#include <iostream>

#include "cli/commands.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/model_folder.h"

namespace ernie::cli {

namespace {

struct InitOptions {
  std::string config, out, vocab, style = "hf";
  uint64_t seed = 42;
  bool strict = false;
};

void init(const InitOptions& o) {
  ConfigOptions opts;
  opts.strict = o.strict;
  std::vector<ConfigDiagnostic> warnings;
  Config cfg = load_config(o.config, opts, &warnings);
  for (const auto& w : warnings) warn(w.message);
  // Name the architecture so that transformers builds the same head from the folder.
  if (cfg.architectures.empty()) cfg.architectures = {cfg.class_name()};

  const InitStyle style = o.style == "paddle" ? InitStyle::PaddleNLP : InitStyle::HuggingFace;
  const FolderReport r = init_model_folder(cfg, o.out, o.seed, style, o.vocab);
  std::cout << "initialized " << cfg.architectures[0] << " (" << r.parameters << " parameters, seed " << o.seed << ", "
            << (style == InitStyle::PaddleNLP ? "PaddleNLP" : "Hugging Face") << " rules) in " << o.out << "\n";
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init", "Initialize a model from a config and write a Hugging Face-style model folder");
  cmd->add_option("--config", o->config, "config.json (HF or PaddleNLP) or a folder holding one")->required();
  cmd->add_option("--out", o->out, "Output folder: config.json + model.safetensors (+ vocab.txt)")->required();
  cmd->add_option("--seed", o->seed, "Random seed; the same seed gives the same bytes on any thread count")
      ->capture_default_str();
  cmd->add_option("--vocab", o->vocab, "Vocabulary file to copy into the folder as vocab.txt");
  cmd->add_option("--init", o->style,
                  "Initialization rules: hf (transformers' _init_weights: pad row of the word embeddings zeroed) "
                  "or paddle (PaddleNLP's init_weights: every row drawn)")
      ->check(CLI::IsMember({"hf", "paddle"}))
      ->capture_default_str();
  cmd->add_flag("--strict", o->strict, "Treat unknown config keys as errors");
  cmd->callback([o] { init(*o); });
}

}  // namespace ernie::cli

// `ernie config explain|validate FILE|DIR`: read a config.json (or a model folder), report every
// problem, or explain every field in English or Chinese with the numbers that follow from it.
// `ernie config reference` (hidden) prints the key tables of docs/CONFIG.md.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/explain.h"

namespace ernie::cli {

namespace {

struct ConfigArgs {
  std::string path;
  bool strict = false;
  std::string source;  // "", "hf", "paddle"
  std::string lang = "en";
  int64_t seq_len = 128;
  bool json = false;
};

// Loads the config, printing its warnings (also when it has errors, before they are thrown).
Config load(const ConfigArgs& a) {
  ConfigOptions opts;
  opts.strict = a.strict;
  if (a.source == "hf" || a.source == "huggingface") opts.source = ConfigSource::HuggingFace;
  if (a.source == "paddle" || a.source == "paddlenlp") opts.source = ConfigSource::PaddleNLP;
  std::vector<ConfigDiagnostic> warnings;
  try {
    Config cfg = load_config(a.path, opts, &warnings);
    for (const auto& w : warnings) warn(w.message);
    return cfg;
  } catch (const ConfigError&) {
    for (const auto& w : warnings) warn(w.message);
    throw;
  }
}

void add_common(CLI::App* cmd, ConfigArgs* a) {
  cmd->add_option("path", a->path, "config.json, model_config.json, or a model folder holding one")->required();
  cmd->add_flag("--strict", a->strict, "Unknown keys are errors, not warnings");
  cmd->add_option("--source", a->source, "Read with the defaults of hf (transformers) or paddle (PaddleNLP)")
      ->check(CLI::IsMember({"hf", "paddle", "huggingface", "paddlenlp"}));
}

}  // namespace

void add_config_command(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "Explain or validate a model config (config.json)");
  config->require_subcommand(1);

  auto explain_args = std::make_shared<ConfigArgs>();
  CLI::App* explain = config->add_subcommand(
      "explain", "Every field in plain words with its default, then parameters, memory, FLOPs and the longest input");
  add_common(explain, explain_args.get());
  explain->add_option("--lang", explain_args->lang, "Language of the explanation: en or zh")
      ->check(CLI::IsMember({"en", "zh"}));
  explain->add_option("--seq-len", explain_args->seq_len, "Sequence length for the compute estimate (default 128)")
      ->check(CLI::PositiveNumber);
  explain->add_flag("--json", explain_args->json, "Print the fields and derived numbers as JSON");
  explain->callback([explain_args] {
    const Config cfg = load(*explain_args);
    if (explain_args->json)
      std::cout << explain_config_json(cfg, explain_args->seq_len).dump(2) << "\n";
    else
      std::cout << explain_config(cfg, explain_args->lang, explain_args->seq_len);
  });

  auto validate_args = std::make_shared<ConfigArgs>();
  CLI::App* validate = config->add_subcommand(
      "validate", "Check a config: prints \"ok: <summary>\", or one error line per problem (exit 1)");
  add_common(validate, validate_args.get());
  validate->callback([validate_args] {
    const Config cfg = load(*validate_args);
    std::cout << "ok: " << config_summary(cfg) << "\n";
  });

  CLI::App* reference = config->add_subcommand("reference", "Print the key reference tables of docs/CONFIG.md");
  reference->group("");  // hidden: for regenerating the docs
  reference->callback([] { std::cout << config_reference_markdown(); });
}

}  // namespace ernie::cli

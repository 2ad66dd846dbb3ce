// `ernie config explain|validate|doctor FILE|DIR`: read a config.json (or a model folder), report
// every problem, explain every field in English or Chinese with the numbers that follow from it,
// or diagnose an AttributeError about one of its attributes. ERNIE/BERT/RoBERTa configs go through
// Config; the BART family (bart, mbart, marian, pegasus, blenderbot, blenderbot-small) through
// Seq2SeqConfig, read and explained only. `ernie config reference` (hidden) prints the key tables
// of docs/CONFIG.md.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "ernie/config.h"
#include "ernie/doctor.h"
#include "ernie/error.h"
#include "ernie/explain.h"
#include "ernie/seq2seq_config.h"

namespace ernie::cli {

namespace {

struct ConfigArgs {
  std::string path;
  bool strict = false;
  std::string source;  // "", "hf", "paddle"
  std::string lang = "en";
  int64_t seq_len = 128;
  bool json = false;
  std::string attr;    // doctor: the attribute of the AttributeError
};

// Runs `read`, printing the warnings it collects (also when it throws the errors).
template <typename Read>
auto with_warnings(Read read) {
  std::vector<ConfigDiagnostic> warnings;
  try {
    auto cfg = read(&warnings);
    for (const auto& w : warnings) warn(w.message);
    return cfg;
  } catch (const ConfigError&) {
    for (const auto& w : warnings) warn(w.message);
    throw;
  }
}

ConfigOptions options(const ConfigArgs& a) {
  ConfigOptions opts;
  opts.strict = a.strict;
  if (a.source == "hf" || a.source == "huggingface") opts.source = ConfigSource::HuggingFace;
  if (a.source == "paddle" || a.source == "paddlenlp") opts.source = ConfigSource::PaddleNLP;
  return opts;
}

Config load(const ConfigArgs& a) {
  return with_warnings([&](std::vector<ConfigDiagnostic>* w) { return load_config(a.path, options(a), w); });
}

Seq2SeqConfig load_seq2seq(const ConfigArgs& a) {
  return with_warnings([&](std::vector<ConfigDiagnostic>* w) { return load_seq2seq_config(a.path, options(a), w); });
}

void add_path(CLI::App* cmd, ConfigArgs* a) {
  cmd->add_option("path", a->path, "config.json, model_config.json, or a model folder holding one")->required();
}

void add_common(CLI::App* cmd, ConfigArgs* a) {
  add_path(cmd, a);
  cmd->add_flag("--strict", a->strict, "Unknown keys are errors, not warnings");
  cmd->add_option("--source", a->source,
                  "Read an ERNIE/BERT/RoBERTa config with the defaults of hf (transformers) or paddle (PaddleNLP)")
      ->check(CLI::IsMember({"hf", "paddle", "huggingface", "paddlenlp"}));
}

void add_lang(CLI::App* cmd, ConfigArgs* a) {
  cmd->add_option("--lang", a->lang, "Language of the answer: en or zh")->check(CLI::IsMember({"en", "zh"}));
}

}  // namespace

void add_config_command(CLI::App& app) {
  CLI::App* config = app.add_subcommand(
      "config", "Explain, validate or diagnose a model config (config.json); BART-family configs are read only");
  config->require_subcommand(1);

  auto explain_args = std::make_shared<ConfigArgs>();
  CLI::App* explain = config->add_subcommand(
      "explain", "Every field in plain words with its default, then parameters, memory, FLOPs and the longest input "
                 "(ERNIE, BERT, RoBERTa; and bart, mbart, marian, pegasus, blenderbot, blenderbot-small)");
  add_common(explain, explain_args.get());
  add_lang(explain, explain_args.get());
  explain->add_option("--seq-len", explain_args->seq_len, "Sequence length for the compute estimate (default 128)")
      ->check(CLI::PositiveNumber);
  explain->add_flag("--json", explain_args->json, "Print the fields and derived numbers as JSON");
  explain->callback([explain_args] {
    const ConfigArgs& a = *explain_args;
    if (seq2seq_type_of_file(a.path)) {
      const Seq2SeqConfig cfg = load_seq2seq(a);
      if (a.json)
        std::cout << explain_seq2seq_config_json(cfg, a.seq_len).dump(2) << "\n";
      else
        std::cout << explain_seq2seq_config(cfg, a.lang, a.seq_len);
      return;
    }
    const Config cfg = load(a);
    if (a.json)
      std::cout << explain_config_json(cfg, a.seq_len).dump(2) << "\n";
    else
      std::cout << explain_config(cfg, a.lang, a.seq_len);
  });

  auto validate_args = std::make_shared<ConfigArgs>();
  CLI::App* validate = config->add_subcommand(
      "validate", "Check a config: prints \"ok: <summary>\", or one error line per problem (exit 1)");
  add_common(validate, validate_args.get());
  validate->callback([validate_args] {
    const ConfigArgs& a = *validate_args;
    // Read before printing: a config with errors prints nothing on stdout.
    const std::string summary =
        seq2seq_type_of_file(a.path) ? seq2seq_summary(load_seq2seq(a)) : config_summary(load(a));
    std::cout << "ok: " << summary << "\n";
  });

  auto doctor_args = std::make_shared<ConfigArgs>();
  CLI::App* doctor = config->add_subcommand(
      "doctor", "Why AttributeError: '<X>Config' object has no attribute '<NAME>' happens with this config, and "
                "the fix; without --attr, the legacy switches of the file");
  add_path(doctor, doctor_args.get());
  doctor->add_option("--attr", doctor_args->attr,
                     "The attribute named in the AttributeError (or the whole error line)");
  add_lang(doctor, doctor_args.get());
  doctor->callback([doctor_args] {
    std::cout << doctor_config(doctor_args->path, doctor_args->attr, doctor_args->lang);
  });

  CLI::App* reference = config->add_subcommand("reference", "Print the key reference tables of docs/CONFIG.md");
  reference->group("");  // hidden: for regenerating the docs
  reference->callback([] { std::cout << config_reference_markdown(); });
}

}  // namespace ernie::cli

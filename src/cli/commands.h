// Each subcommand lives in its own file and registers itself on the root app.
// Commands report failures by throwing ernie::Error; main() prints "ernie: error: <message>"
// and exits 1 (2 for command-line usage errors).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace ernie::cli {

void add_config_command(CLI::App& app);    // cmd_config.cc: config explain | validate
void add_init_command(CLI::App& app);      // cmd_init.cc
void add_inspect_command(CLI::App& app);   // cmd_inspect.cc
void add_run_command(CLI::App& app);       // cmd_run.cc
void add_bench_command(CLI::App& app);     // cmd_bench.cc
void add_quantize_command(CLI::App& app);  // cmd_quantize.cc
void add_tokenize_command(CLI::App& app);  // cmd_tokenize.cc
void add_classify_command(CLI::App& app);  // cmd_classify.cc
void add_embed_command(CLI::App& app);     // cmd_embed.cc
void add_vocab_command(CLI::App& app);     // cmd_vocab.cc: vocab train
void add_convert_command(CLI::App& app);   // cmd_convert.cc
void add_train_command(CLI::App& app);     // cmd_train.cc
void add_serve_command(CLI::App& app);     // cmd_serve.cc
void add_pipeline_command(CLI::App& app);  // cmd_pipeline.cc
void add_pretrain_command(CLI::App& app);  // cmd_pretrain.cc

// Sets GOMP_SPINCOUNT=3000 and re-executes the program unless a policy was chosen (openmp_env.cc).
void tune_openmp_waiting(char** argv);
// The OpenMP waiting settings this process runs with ("GOMP_SPINCOUNT=3000", ...), for `bench`.
std::string openmp_waiting();

void warn(const std::string& message);     // "ernie: warning: ..." on stderr

}  // namespace ernie::cli

// Each subcommand lives in its own file and registers itself on the root app.
// Commands report failures by throwing ernie::Error; main() prints "ernie: error: <message>"
// and exits 1 (2 for command-line usage errors).
#pragma once
#include <CLI/CLI.hpp>

namespace ernie::cli {

void add_config_command(CLI::App& app);    // cmd_config.cc: config explain | validate
void add_init_command(CLI::App& app);      // cmd_init.cc
void add_inspect_command(CLI::App& app);   // cmd_inspect.cc
void add_run_command(CLI::App& app);       // cmd_run.cc

void warn(const std::string& message);     // "ernie: warning: ..." on stderr

}  // namespace ernie::cli

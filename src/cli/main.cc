// ernie: the command-line entry point. Subcommands are registered from their own files.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "ernie/config.h"
#include "ernie/dist.h"
#include "ernie/error.h"

namespace ernie::cli {
void warn(const std::string& message) { std::cerr << "ernie: warning: " << message << "\n"; }
}  // namespace ernie::cli

int main(int argc, char** argv) {
  ernie::cli::tune_openmp_waiting(argv);
  ernie::dist::World world(argc, argv);   // MPI when an MPI launcher started us
  ernie::dist::Communicator& comm = world.comm();
  CLI::App app{"ernie " ERNIE_VERSION
               " -- ERNIE / BERT / RoBERTa encoders in C++: configs, initialization, checkpoints, tokenizer, inference, "
               "training, serving"};
  app.set_version_flag("--version", "ernie " ERNIE_VERSION);
  app.require_subcommand(1);
  ernie::cli::add_config_command(app);
  ernie::cli::add_init_command(app);
  ernie::cli::add_inspect_command(app);
  ernie::cli::add_run_command(app);
  ernie::cli::add_bench_command(app);
  ernie::cli::add_quantize_command(app);
  ernie::cli::add_tokenize_command(app);
  ernie::cli::add_classify_command(app);
  ernie::cli::add_embed_command(app);
  ernie::cli::add_vocab_command(app);
  ernie::cli::add_convert_command(app);
  ernie::cli::add_train_command(app);
  ernie::cli::add_serve_command(app);
  ernie::cli::add_pipeline_command(app);
  ernie::cli::add_pretrain_command(app);
  // Under MPI an error names its rank and ends the whole job: the other ranks may be waiting in a
  // collective for this one.
  const std::string where = comm.size() > 1 ? "rank " + std::to_string(comm.rank()) + ": " : "";
  auto fail = [&] {
    if (comm.size() > 1) {
      std::cerr.flush();
      comm.abort(1);
    }
    return 1;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);   // prints help, version or the usage error
    return rc == 0 ? 0 : 2;
  } catch (const ernie::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << "ernie: error: " << where << d.message << "\n";
    return fail();
  } catch (const std::exception& e) {
    std::cerr << "ernie: error: " << where << e.what() << "\n";
    return fail();
  }
  return 0;
}

// ernie embed: a text file, one text a line -> sentence embeddings, float32 [lines, hidden] as .npy
// or .safetensors. Streams its input; under mpirun each rank embeds its byte range of the file and
// writes its rows into the one output file (src/pipeline).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/batch_flags.h"
#include "cli/commands.h"
#include "ernie/dist.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/pipeline.h"
#include "pipeline/lines.h"
#include "pipeline/sharded_output.h"

namespace ernie::cli {

namespace {

struct EmbedOptions {
  BatchFlags in;
  std::string output, pooling = "cls";
  bool normalize = false;
};

void run(const EmbedOptions& o) {
  dist::Communicator& comm = dist::world();
  pipeline::row_format_of(o.output);   // a bad name fails before any work
  pipeline::EmbeddingOptions pool;
  pool.pooling = pipeline::parse_pooling(o.pooling);
  pool.normalize = o.normalize;
  if (pool.pooling == pipeline::Pooling::None) throw Error("--pooling must be cls, mean or max");
  const pipeline::LineShard shard = pipeline::plan_lines(o.in.input, comm);
  dist::set_threads(o.in.threads, comm);

  const Model model = o.in.load_model();
  const Config& cfg = model.config();
  const Tokenizer tok = Tokenizer::from_folder(o.in.model);
  const EncodeOptions eo = o.in.encode_options(cfg);
  const int64_t H = cfg.hidden_size;

  comm.barrier();   // the summary's clock starts when every rank has loaded the model
  const auto start = std::chrono::steady_clock::now();
  pipeline::BatchReader reader(shard, o.in.batch);
  pipeline::ShardedRows out(o.output, shard.total_lines, H, reader.first_line(), "embeddings", comm);
  std::vector<std::string> lines;
  std::vector<float> rows;
  for (int64_t line = reader.first_line(); reader.next(lines); line += static_cast<int64_t>(lines.size())) {
    std::vector<Encoding> encs;
    for (size_t i = 0; i < lines.size(); ++i) {
      try {
        encs.push_back(tok.encode(lines[i], eo));
      } catch (const Error& e) {
        throw Error(o.in.input + ": line " + std::to_string(line + static_cast<int64_t>(i) + 1) + ": " + e.what());
      }
    }
    const Batch batch = pack_encodings(encs, cfg);
    const Outputs res = model.forward(batch);
    rows.resize(lines.size() * static_cast<size_t>(H));
    for (size_t r = 0; r < lines.size(); ++r) {
      const auto h = pipeline::extract(res, batch, encs[r], static_cast<int64_t>(r), pipeline::Need::Hidden, cfg, -1);
      const auto v = pipeline::pool(h, pool);
      std::copy(v.values.begin(), v.values.end(), rows.begin() + static_cast<std::ptrdiff_t>(r) * H);
    }
    out.write(rows.data(), static_cast<int64_t>(lines.size()));
  }
  out.commit();
  if (comm.is_root()) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "ernie embed: %lld texts x %lld floats -> %s in %.2f s (%.1f texts/s, %d rank%s)\n",
                 static_cast<long long>(shard.total_lines), static_cast<long long>(H), o.output.c_str(), s,
                 s > 0 ? static_cast<double>(shard.total_lines) / s : 0.0, comm.size(), comm.size() > 1 ? "s" : "");
  }
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto o = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "embed",
      "Sentence embeddings of a text file, one text a line (row i = line i, empty lines included), as float32 "
      "[lines, hidden] .npy or .safetensors (tensor `embeddings`); under mpirun the ranks share the file");
  add_batch_flags(cmd, o->in, true);
  cmd->add_option("--output", o->output, "FILE.npy (NumPy) or FILE.safetensors, written atomically")->required();
  cmd->add_option("--pooling", o->pooling,
                  "cls: the first token's last hidden state; mean / max: over the tokens, special tokens included")
      ->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "L2-normalize each embedding");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli

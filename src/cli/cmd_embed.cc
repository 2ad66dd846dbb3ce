// ernie embed: a text file, one text a line -> sentence embeddings, float32 [lines, hidden] as .npy
// or .safetensors. Streams its input; under mpirun each rank embeds its byte range of the file and
// writes its rows into the one output file (src/pipeline).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/tokenizer_io.h"
#include "ernie/dist.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "pipeline/lines.h"
#include "pipeline/postprocess.h"
#include "pipeline/sharded_output.h"

namespace ernie::cli {

namespace {

struct EmbedOptions {
  std::string model, input, output, pooling = "cls", dtype, errors = "strict";
  bool normalize = false;
  size_t max_len = 0, batch = 32;
  int threads = 0;
};

void run(const EmbedOptions& o) {
  dist::Communicator& comm = dist::world();
  pipeline::row_format_of(o.output);   // a bad name fails before any work
  pipeline::Pooling pooling;
  if (!pipeline::parse_pooling(o.pooling, &pooling)) throw Error("--pooling must be cls or mean, not '" + o.pooling + "'");
  const pipeline::LineShard shard = pipeline::plan_lines(o.input, comm);
  pipeline::set_threads(o.threads, comm);

  Model model = Model::load(o.model);
  if (!o.dtype.empty()) model.set_compute_type(parse_compute_type(o.dtype));
  const Config& cfg = model.config();
  const Tokenizer tok = Tokenizer::from_folder(o.model);
  EncodeOptions eo;
  eo.max_length = o.max_len ? o.max_len : static_cast<size_t>(cfg.max_sequence_length());
  eo.utf8_errors = parse_errors_flag(o.errors);
  const int64_t H = cfg.hidden_size;

  const auto start = std::chrono::steady_clock::now();
  pipeline::BatchReader reader(shard, o.batch);
  pipeline::ShardedRows out(o.output, shard.total_lines, H, reader.first_line(), "embeddings", comm);
  std::vector<std::string> lines;
  std::vector<float> rows;
  for (int64_t line = reader.first_line(); reader.next(lines); line += static_cast<int64_t>(lines.size())) {
    std::vector<Encoding> encs;
    for (size_t i = 0; i < lines.size(); ++i) {
      try {
        encs.push_back(tok.encode(lines[i], eo));
      } catch (const Error& e) {
        throw Error(o.input + ": line " + std::to_string(line + static_cast<int64_t>(i) + 1) + ": " + e.what());
      }
    }
    const Batch batch = pack_encodings(encs, cfg);
    const Outputs res = model.forward(batch);
    rows.resize(lines.size() * static_cast<size_t>(H));
    for (size_t r = 0; r < lines.size(); ++r) {
      std::vector<float> v = pipeline::pool_sequence(res, batch, static_cast<int64_t>(r), H, pooling);
      if (o.normalize) pipeline::l2_normalize(v);
      std::copy(v.begin(), v.end(), rows.begin() + static_cast<std::ptrdiff_t>(r) * H);
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
  cmd->add_option("--model", o->model, "Model folder with its vocab.txt (or tokenizer.json)")->required();
  cmd->add_option("--input", o->input,
                  "Text file, one text a line ('\\n' or '\\r\\n'); read in chunks, each rank its byte range")
      ->required();
  cmd->add_option("--output", o->output, "FILE.npy (NumPy) or FILE.safetensors, written atomically")->required();
  cmd->add_option("--pooling", o->pooling,
                  "cls: the first token's last hidden state; mean: the mean over the tokens, special tokens included")
      ->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "L2-normalize each embedding");
  cmd->add_option("--max-len", o->max_len, "Truncate to this many tokens (default: the model's longest input)");
  cmd->add_option("--batch", o->batch, "Texts per forward pass (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o->threads,
                  "Threads per process (default: OMP_NUM_THREADS or all cores, divided among the ranks on a machine)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--dtype", o->dtype, "Precision of the matrix products: f32 (exact), bf16 or int8 (default: f32)");
  cmd->add_option("--errors", o->errors, "Invalid UTF-8: strict (default: an error naming the line) | replace");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli

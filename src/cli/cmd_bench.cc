// ernie bench: times the forward pass on a random ragged batch and reports latency, throughput,
// achieved GFLOP/s and the share of this machine's peak for the dtype.
//
// Peak = threads x FLOP per cycle per core x measured clock. FLOP per cycle comes from the
// instruction set oneDNN dispatches to, assuming two vector FMA pipes per core (every AMD Zen and
// Intel Xeon core since Skylake-SP Gold): AVX2 fp32 2 x 8 lanes x 2 = 32; AVX-512 fp32 64;
// AVX512-BF16 dot products 128; int8 VNNI 256 (AVX-512) / 128 (AVX-VNNI); int8 without VNNI
// (vpmaddubsw + vpmaddwd) twice fp32. Without native bf16 the bf16 peak is the fp32 one. The
// clock is measured (a chain of dependent integer adds, 1 cycle each), so turbo is included.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "kernels/kernels.h"

namespace ernie::cli {

namespace {

struct BenchOptions {
  std::string model, dtype;
  int64_t batch = 8, seq_len = 128, min_seq_len = 0;
  int threads = 0, iters = 10, warmup = 2;
  uint64_t seed = 12345;
  bool json = false;
};

// A memory figure of this process in MiB from /proc/self/status (VmRSS: now, VmHWM: peak), or
// -1 where there is no /proc.
double proc_status_mb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;   // kB
  return -1;
}

// A chain of dependent 64-bit multiplies: 3 cycles each on every x86 core since Sandy Bridge and
// on every AMD Zen (adds are no good: recent Intel cores fold chains of immediate adds).
double measure_ghz() {
#if defined(__x86_64__)
  double best = 0.0;   // the fastest of 20 short runs: a run that was preempted is slower, never faster
  for (int attempt = 0; attempt < 20; ++attempt) {
    uint64_t n = 500'000, x = 1;
    const uint64_t one = 1;
    const auto t0 = std::chrono::steady_clock::now();
    asm volatile(
        "1:\n\t"
        "imul %2, %0\n\timul %2, %0\n\timul %2, %0\n\timul %2, %0\n\t"
        "imul %2, %0\n\timul %2, %0\n\timul %2, %0\n\timul %2, %0\n\t"
        "dec %1\n\tjnz 1b"
        : "+r"(x), "+r"(n)
        : "r"(one));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 3 * 8 * 5e5 / s / 1e9);
  }
  return best;
#endif
  return 0.0;
}

// FLOP per cycle per core for the matrix products of a dtype on the ISA oneDNN uses.
double flop_per_cycle(const std::string& isa, ComputeType t) {
  const bool avx512 = isa.rfind("avx512", 0) == 0;
  const double f32 = avx512 ? 64 : 32;
  switch (t) {
    case ComputeType::F32: return f32;
    case ComputeType::BF16:
      if (isa == "avx512_core_amx") return 1024;   // AMX tiles: 512 bf16 multiply-adds per cycle
      return isa == "avx512_core_bf16" ? 128 : f32;
    case ComputeType::Int8:
      if (isa == "avx512_core_amx") return 2048;   // AMX tiles: 1024 int8 multiply-adds per cycle
      if (isa == "avx512_core_vnni" || isa == "avx512_core_bf16" || isa == "avx512_core_amx") return 256;
      if (isa == "avx2_vnni") return 128;
      return 2 * f32;
  }
  return f32;
}

// Multiply-adds count 2. Per layer and token: Q, K, V, O (4 H^2) and the FFN (2 H I); per layer
// and sequence of length L: Q·Kᵀ and P·V (2 L^2 H). Plus the pooler and classifier per sequence.
double forward_flops(const Config& cfg, const Batch& b) {
  const double H = cfg.hidden_size, I = cfg.intermediate_size;
  double f = 0;
  for (int64_t s = 0; s < b.rows; ++s) {
    const double L = static_cast<double>(b.length(s));
    f += cfg.num_hidden_layers * (L * 2 * (4 * H * H + 2 * H * I) + 2 * 2 * L * L * H);
    f += 2 * (H * H + H * cfg.num_labels());
  }
  return f;
}

void bench(const BenchOptions& o) {
  if (o.batch < 1 || o.seq_len < 1 || o.iters < 1) throw Error("--batch, --seq-len and --iters must be at least 1");
  const int64_t min_len = o.min_seq_len > 0 ? o.min_seq_len : o.seq_len;
  if (min_len > o.seq_len) throw Error("--min-seq-len must not exceed --seq-len");
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const int threads = omp_get_max_threads();

  const Model model = o.dtype.empty() ? Model::load(o.model) : Model::load(o.model, parse_compute_type(o.dtype));
  const double rss_loaded = proc_status_mb("VmRSS");
  const Config& cfg = model.config();
  if (o.seq_len > cfg.max_position_embeddings)
    throw Error("--seq-len " + std::to_string(o.seq_len) + " exceeds the model's longest input (" +
                std::to_string(cfg.max_position_embeddings) + ")");

  // Random ids in [5, vocab), lengths uniform in [min_len, seq_len], from a fixed seed.
  std::mt19937_64 rng(o.seed);
  Tensor ids = Tensor::zeros(DType::I64, {o.batch, o.seq_len});
  Tensor mask = Tensor::zeros(DType::I64, {o.batch, o.seq_len});
  std::uniform_int_distribution<int64_t> len_dist(min_len, o.seq_len);
  std::uniform_int_distribution<int64_t> id_dist(std::min<int64_t>(5, cfg.vocab_size - 1), cfg.vocab_size - 1);
  for (int64_t b = 0; b < o.batch; ++b) {
    const int64_t len = len_dist(rng);
    for (int64_t t = 0; t < len; ++t) {
      ids.data<int64_t>()[b * o.seq_len + t] = id_dist(rng);
      mask.data<int64_t>()[b * o.seq_len + t] = 1;
    }
  }
  const Batch batch = pack_padded(PaddedInputs{ids, mask, Tensor(), Tensor()}, cfg);

  for (int i = 0; i < o.warmup; ++i) model.forward(batch);
  std::vector<double> ms;
  for (int i = 0; i < o.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const Outputs out = model.forward(batch);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const double p90 = sorted[std::min(sorted.size() - 1, static_cast<size_t>(std::ceil(0.9 * sorted.size())) - 1)];
  const double tokens = static_cast<double>(batch.tokens());
  const double flops = forward_flops(cfg, batch);
  const double gflops = flops / (median / 1e3) / 1e9;
  const std::string isa = kernels::matmul_isa();
  const ComputeType type = model.compute_type();
  const double ghz = measure_ghz();
  const double fpc = flop_per_cycle(isa, type);
  const double peak = threads * fpc * ghz;
  const double rss_peak = proc_status_mb("VmHWM");

  if (o.json) {
    nlohmann::json j = {{"engine", "ernie.cpp"},
                        {"dtype", compute_type_name(type)},
                        {"batch", o.batch},
                        {"seq_len", o.seq_len},
                        {"min_seq_len", min_len},
                        {"threads", threads},
                        {"openmp_waiting", openmp_waiting()},
                        {"iters", o.iters},
                        {"tokens", batch.tokens()},
                        {"median_ms", median},
                        {"min_ms", sorted.front()},
                        {"p90_ms", p90},
                        {"seq_per_s", o.batch / (median / 1e3)},
                        {"tokens_per_s", tokens / (median / 1e3)},
                        {"gflop", flops / 1e9},
                        {"gflop_per_s", gflops},
                        {"isa", isa},
                        {"native", kernels::native_support(type == ComputeType::F32    ? kernels::MatType::F32
                                                           : type == ComputeType::BF16 ? kernels::MatType::BF16
                                                                                       : kernels::MatType::S8)},
                        {"ghz", ghz},
                        {"flop_per_cycle_per_core", fpc},
                        {"peak_gflop_per_s", peak},
                        {"percent_of_peak", peak > 0 ? 100 * gflops / peak : 0.0},
                        {"rss_loaded_mib", rss_loaded},
                        {"rss_peak_mib", rss_peak}};
    std::cout << j.dump() << "\n";
    return;
  }
  char line[512];
  std::cout << "model: " << o.model << " (" << cfg.num_hidden_layers << " layers, hidden " << cfg.hidden_size
            << "), dtype " << compute_type_name(type) << ", " << threads << " threads (" << openmp_waiting() << ")\n";
  std::snprintf(line, sizeof line, "batch: %lld sequences, lengths %lld..%lld, %lld real tokens (%.1f%% of padded)\n",
                static_cast<long long>(o.batch), static_cast<long long>(min_len), static_cast<long long>(o.seq_len),
                static_cast<long long>(batch.tokens()), 100.0 * tokens / (o.batch * o.seq_len));
  std::cout << line;
  std::snprintf(line, sizeof line,
                "latency: median %.2f ms, p90 %.2f ms, best %.2f ms over %d iterations (%d warm-up)\n", median, p90,
                sorted.front(), o.iters, o.warmup);
  std::cout << line;
  std::snprintf(line, sizeof line, "throughput: %.2f sequences/s, %.0f tokens/s\n", o.batch / (median / 1e3),
                tokens / (median / 1e3));
  std::cout << line;
  std::snprintf(line, sizeof line, "compute: %.1f GFLOP per batch, %.1f GFLOP/s = %.1f%% of peak %.0f GFLOP/s\n",
                flops / 1e9, gflops, peak > 0 ? 100 * gflops / peak : 0.0, peak);
  std::cout << line;
  std::snprintf(line, sizeof line,
                "peak: %d threads x %.0f FLOP/cycle (oneDNN ISA %s, %s, 2 FMA pipes) x %.2f GHz (measured)\n",
                threads, fpc, isa.c_str(),
                type == ComputeType::BF16 && fpc == flop_per_cycle(isa, ComputeType::F32)
                    ? "no native bf16: fp32 rate"
                    : compute_type_name(type),
                ghz);
  std::cout << line;
  if (rss_loaded >= 0) {
    std::snprintf(line, sizeof line, "memory: %.1f MiB resident after loading, peak %.1f MiB\n", rss_loaded, rss_peak);
    std::cout << line;
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time the forward pass on a random batch (latency, throughput, % of peak)");
  cmd->add_option("--model", o->model, "Model folder (config.json + model.safetensors)")->required();
  cmd->add_option("--batch", o->batch, "Sequences per batch (default 8)");
  cmd->add_option("--seq-len", o->seq_len, "Longest sequence length T (default 128)");
  cmd->add_option("--min-seq-len", o->min_seq_len, "Shortest length M: lengths are uniform in [M, T] (default T)");
  cmd->add_option("--dtype", o->dtype, "f32 | bf16 | int8 (default: f32, or int8 for an `ernie quantize` checkpoint)");
  cmd->add_option("--threads", o->threads, "Threads (default: OMP_NUM_THREADS or all cores)");
  cmd->add_option("--iters", o->iters, "Timed iterations (default 10)");
  cmd->add_option("--warmup", o->warmup, "Untimed iterations first (default 2)");
  cmd->add_option("--seed", o->seed, "Seed of the random ids and lengths (default 12345)");
  cmd->add_flag("--json", o->json, "Print one JSON object (seq_per_s, tokens_per_s, median_ms, ...)");
  cmd->callback([o] { bench(*o); });
}

}  // namespace ernie::cli

// One Linear shape through every kernel ernie.cpp has, side by side: the 12 layers' worth of
// weights (so that they do not fit in cache, as in the model), each product once per pass, best
// of R passes. Prints ms per pass, weight GB/s and GFLOP/s per row count.
//
//   bench/linear/run.sh [BUILD_DIR] -- K N ROWS...      (see run.sh; OMP_NUM_THREADS sets threads)
//   bench/linear/run.sh [BUILD_DIR] -- ffn H I ROWS...  the feed-forward block (H -> I -> H, relu) per
//       type: two linear() calls against kernels::feed_forward, alternating, best of the passes
//
// Kernels: "in place" = kernels::linear(x, W, ...) on the [out, in] weights (oneDNN matmul with a
// runtime row count: what every fp32 Linear ran before packing); "libxsmm" and "onednn" =
// pack_linear(F32) with that kernel; "bf16" and "int8" = pack_linear(BF16 / S8) (oneDNN blocked,
// or for int8 on AVX2 our panels, beside "int8 dnnl": oneDNN's gemm:jit there).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

using namespace ernie;

namespace {
double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

// x += relu(x · W1ᵀ + b1) · W2ᵀ + b2 over 12 layers' weights: the two linear() calls against
// kernels::feed_forward (which keeps the intermediate in the products' format), per type.
int ffn_main(int argc, char** argv) {
  const int64_t H = std::atoll(argv[2]), I = std::atoll(argv[3]);
  const int L = 12;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  std::vector<float> W1(I * H), W2(H * I), b1(I, 0.01f), b2(H, 0.01f);
  const std::pair<const char*, kernels::MatType> types[] = {
      {"f32", kernels::MatType::F32}, {"bf16", kernels::MatType::BF16}, {"int8", kernels::MatType::S8}};
  std::vector<std::vector<std::shared_ptr<const kernels::PackedLinear>>> up(3), down(3);
  for (int l = 0; l < L; ++l) {
    for (auto& e : W1) e = nd(rng);
    for (auto& e : W2) e = nd(rng);
    for (int t = 0; t < 3; ++t) {
      up[t].push_back(kernels::pack_linear(W1.data(), b1.data(), H, I, types[t].second));
      down[t].push_back(kernels::pack_linear(W2.data(), b2.data(), I, H, types[t].second));
    }
  }
  std::printf("feed-forward H %ld I %ld, %d layers, %d threads, oneDNN ISA %s\n", static_cast<long>(H),
              static_cast<long>(I), L, omp_get_max_threads(), kernels::matmul_isa().c_str());
  for (int i = 4; i < argc; ++i) {
    const int64_t M = std::atoll(argv[i]);
    std::vector<float> x0(M * H), x(M * H), inner(M * I);
    for (auto& e : x0) e = nd(rng);
    for (int t = 0; t < 3; ++t) {
      double best[2] = {1e30, 1e30};
      for (int r = 0; r <= 9; ++r)
        for (int fused = 0; fused < 2; ++fused) {
          const double t0 = seconds();
          for (int l = 0; l < L; ++l) {
            std::copy(x0.begin(), x0.end(), x.begin());   // the same input every layer (no blow-up)
            if (fused) {
              kernels::feed_forward(*up[t][l], *down[t][l], x.data(), inner.data(), M, Activation::Relu);
            } else {
              kernels::linear(*up[t][l], x.data(), inner.data(), M, Activation::Relu);
              kernels::linear(*down[t][l], inner.data(), x.data(), M, Activation::Linear, true);
            }
          }
          if (r > 0) best[fused] = std::min(best[fused], (seconds() - t0) * 1e3);
        }
      std::printf("M %5ld  %-4s  two linear %8.2f ms  feed_forward %8.2f ms  %.3fx\n", static_cast<long>(M),
                  types[t].first, best[0], best[1], best[0] / best[1]);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "ffn") return ffn_main(argc, argv);
  if (argc < 4) {
    std::fprintf(stderr, "usage: linear_bench K N ROWS...\n");
    return 2;
  }
  const int64_t K = std::atoll(argv[1]), N = std::atoll(argv[2]);
  std::vector<int64_t> rows;
  for (int i = 3; i < argc; ++i) rows.push_back(std::atoll(argv[i]));
  const int L = 12;
  const int64_t Mmax = *std::max_element(rows.begin(), rows.end());
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  std::vector<std::vector<float>> W(L, std::vector<float>(N * K));
  for (auto& w : W)
    for (auto& e : w) e = nd(rng);
  std::vector<float> b(N, 0.01f), x(Mmax * K), y(Mmax * N);
  for (auto& e : x) e = nd(rng);

  struct Engine {
    std::string name;
    std::vector<std::shared_ptr<const kernels::PackedLinear>> packed;   // empty: in place
  };
  std::vector<Engine> engines = {{"in place", {}}};
  auto add = [&](const std::string& name, kernels::MatType t, kernels::LinearKernel k) {
    Engine e{name, {}};
    try {
      for (int l = 0; l < L; ++l) e.packed.push_back(kernels::pack_linear(W[l].data(), b.data(), K, N, t, k));
    } catch (const std::exception& err) {
      std::printf("%-9s unavailable: %s\n", name.c_str(), err.what());
      return;
    }
    engines.push_back(std::move(e));
  };
  add("libxsmm", kernels::MatType::F32, kernels::LinearKernel::Libxsmm);
  add("onednn", kernels::MatType::F32, kernels::LinearKernel::Onednn);
  add("bf16", kernels::MatType::BF16, kernels::LinearKernel::Auto);
  add("int8", kernels::MatType::S8, kernels::LinearKernel::Auto);
  if (engines.back().name == "int8" && kernels::packed_kernel(*engines.back().packed[0]) != "onednn-blocked")
    add("int8 dnnl", kernels::MatType::S8, kernels::LinearKernel::Onednn);   // AVX2: gemm:jit, for comparison
  std::printf("K %ld N %ld, %d matrices (%.0f MB fp32), %d threads, oneDNN ISA %s\n", static_cast<long>(K),
              static_cast<long>(N), L, L * N * K * 4 / 1e6, omp_get_max_threads(), kernels::matmul_isa().c_str());
  // Engines interleaved pass by pass, best pass of each kept: on a shared machine a burst of
  // other work then hurts every engine alike instead of the one that happened to be running.
  for (const int64_t M : rows) {
    const int reps = M >= 512 ? 3 : 9;
    std::vector<double> best(engines.size(), 1e30);
    for (int r = 0; r <= reps; ++r)
      for (size_t i = 0; i < engines.size(); ++i) {
        const Engine& e = engines[i];
        const double t = seconds();
        for (int l = 0; l < L; ++l) {
          if (e.packed.empty())
            kernels::linear(x.data(), W[l].data(), b.data(), y.data(), M, K, N);
          else
            kernels::linear(*e.packed[l], x.data(), y.data(), M, Activation::Relu);
        }
        if (r > 0) best[i] = std::min(best[i], (seconds() - t) * 1e3);   // pass 0 warms up
      }
    for (size_t i = 0; i < engines.size(); ++i) {
      const Engine& e = engines[i];
      const double ms = best[i];
      std::printf("M %5ld  %-9s %-15s %8.2f ms  %6.1f GB/s fp32-equiv  %7.1f GFLOP/s\n", static_cast<long>(M),
                  e.name.c_str(), e.packed.empty() ? "" : kernels::packed_kernel(*e.packed[0]).c_str(), ms,
                  L * N * K * 4 / ms / 1e6, 2.0 * L * M * N * K / ms / 1e6);
    }
  }
  return 0;
}

// fp32 Linear layers on libxsmm (see linear_cpu.cc for the design): Wᵀ in panels of 64 columns,
// each [K][64] contiguous, multiplied by JIT small-GEMM kernels with the full K in registers.
// bf16 on CPUs without bf16 products keeps the panels as bf16 bits and widens them to fp32 just
// before multiplying: at few rows 64 k at a time into L1, otherwise one whole panel per thread.
// Measured against fp32 panels (docs/PERFORMANCE.md): 1.16-1.38x at 1-16 rows on AVX2, 1.04-1.27x
// on AVX-512 without BF16, even from 64 rows; and half the memory.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>
#ifdef ERNIE_HAVE_LIBXSMM
#include <libxsmm.h>
#endif

#include "ernie/error.h"
#include "kernels/cpu/linear_cpu.h"
#include "kernels/cpu/vec.h"

namespace ernie::kernels::detail {

using dnnl::memory;
using dt = memory::data_type;

#ifdef ERNIE_HAVE_LIBXSMM
// libxsmm generates code for the same instruction set oneDNN uses (so ONEDNN_MAX_CPU_ISA=AVX2
// checks the AVX2 path of both), unless LIBXSMM_TARGET says otherwise.
bool xsmm_ready() {
  static const bool ok = [] {
    libxsmm_init();
    if (!std::getenv("LIBXSMM_TARGET")) {
      if (!has_isa(dnnl::cpu_isa::avx512_core)) {
        if (has_isa(dnnl::cpu_isa::avx2)) libxsmm_set_target_arch("hsw");
        else if (has_isa(dnnl::cpu_isa::avx)) libxsmm_set_target_arch("snb");
        else return false;
      }
    }
    const float alpha = 1.0f, beta = 0.0f;
    return libxsmm_smmdispatch(16, 1, 16, nullptr, nullptr, nullptr, &alpha, &beta, nullptr, nullptr) != nullptr;   // JIT works here
  }();
  return ok;
}
#else
bool xsmm_ready() { return false; }
#endif

namespace {

#ifdef ERNIE_HAVE_LIBXSMM
using XsmmKernel = libxsmm_smmfunction;

// C[w, rows] (column-major, ldc = panel) = A[w, K] (a panel, lda = w) · B[K, rows] (x, ldb = K).
// With `prefetch` the kernel also pulls the next call's panel into L2 while it computes
// (LIBXSMM_GEMM_PREFETCH_AL2). Measured on the seed shapes, 2 threads, weights beyond L3: with
// K = 768 (192 KiB panels) 1.15-1.28x faster at 4-16 rows, 1.03-1.09x at 64-128; with K = 3072
// (768 KiB panels, two of which crowd the x block out of L2) 0.86-1.0x, so only small panels do it.
// For a chunk of k (bf16 panels): K is the chunk's, ld_x the rows' full length, and with
// `accumulate` C += (beta 1: libxsmm loads C into its accumulators, so chunk after chunk gives
// exactly the sums of one call over the whole K).
XsmmKernel xsmm_kernel(int64_t w, int64_t rows, int64_t K, int64_t ldc, bool prefetch_next, bool accumulate = false,
                       int64_t ld_x = 0) {
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  const libxsmm_blasint lda = static_cast<libxsmm_blasint>(w), ldb = static_cast<libxsmm_blasint>(ld_x ? ld_x : K),
                        ldcc = static_cast<libxsmm_blasint>(ldc);
  const int prefetch = prefetch_next ? LIBXSMM_GEMM_PREFETCH_AL2 : LIBXSMM_GEMM_PREFETCH_NONE;
  XsmmKernel k = libxsmm_smmdispatch(static_cast<libxsmm_blasint>(w), static_cast<libxsmm_blasint>(rows),
                                     static_cast<libxsmm_blasint>(K), &lda, &ldb, &ldcc, &alpha, &beta, nullptr,
                                     &prefetch);
  if (!k) throw Error("libxsmm could not generate a " + std::to_string(w) + "x" + std::to_string(rows) + "x" +
                      std::to_string(K) + " kernel");
  return k;
}
#endif

// Panel width: 64 columns (four AVX-512 vectors, eight AVX2 ones) measured best on both.
constexpr int64_t kPanel = 64;
// Rows per kernel call: up to 64 (the x block, 64 x K floats, stays in L2 beside the panel).
constexpr int64_t kRowBlock = 64;
// bf16 panels at few rows: k per widened chunk (64 x 64 floats: 16 KiB, in L1).
constexpr int64_t kChunk = 64;

// Wᵀ into panels, and back: 16 x 16 tiles (each read and written through 16 cache lines),
// panels in parallel.
template <bool kPack>
void transpose_panels(const PackedLinear& p, float* panels, float* W) {
  const int64_t K = p.K, N = p.N, panel_count = (N + p.panel - 1) / p.panel;
#pragma omp parallel for schedule(static) if (N * K > 1 << 16)
  for (int64_t j = 0; j < panel_count; ++j) {
    const int64_t n0 = j * p.panel, w = std::min(p.panel, N - n0);
    float* P = panels + n0 * K;
    for (int64_t k0 = 0; k0 < K; k0 += 16)
      for (int64_t c0 = 0; c0 < w; c0 += 16)
        for (int64_t c = c0; c < std::min(w, c0 + 16); ++c)
          for (int64_t k = k0; k < std::min(K, k0 + 16); ++k) {
            if constexpr (kPack)
              P[k * w + c] = W[(n0 + c) * K + k];
            else
              W[(n0 + c) * K + k] = P[k * w + c];
          }
  }
}

// The panels as a oneDNN memory descriptor (dims {K, N}; N in blocks of `panel`, each block
// [K][panel]) when N is a multiple of the panel width: oneDNN's JIT reorders then pack and unpack
// them several times faster than the tiled loop above.
bool panels_desc(const PackedLinear& p, memory::desc* md) {
  if (p.N % p.panel != 0) return false;
  dnnl_memory_desc_t d;
  const dnnl_dims_t dims = {p.K, p.N};
  if (dnnl_memory_desc_init_by_tag(&d, 2, dims, dnnl_f32, dnnl_ab) != dnnl_success) return false;
  dnnl_blocking_desc_t& b = d.format_desc.blocking;
  b.strides[0] = p.panel;         // k within a panel
  b.strides[1] = p.K * p.panel;   // the panel
  b.inner_nblks = 1;
  b.inner_blks[0] = p.panel;
  b.inner_idxs[0] = 1;
  *md = memory::desc(d);
  return true;
}

// W [N, K] (= dims {K, N} with strides {1, K}) <-> panels.
void reorder_panels(const PackedLinear& p, const memory::desc& md, float* panels, float* W, bool pack) {
  memory plain(memory::desc({p.K, p.N}, dt::f32, memory::dims{1, p.K}), engine(), W);
  memory blocked(md, engine(), panels);
  if (pack)
    dnnl::reorder(plain, blocked).execute(stream(), plain, blocked);
  else
    dnnl::reorder(blocked, plain).execute(stream(), blocked, plain);
  stream().wait();
}

// oneDNN's fp32 brgemm matmul keeps its weights as BA16a64b: [N/64][K/16][16][64], which is the
// panels' [N/64][K][64] when K is a multiple of 16. Then the same copy serves both libraries.
void check_brgemm_panels(PackedLinear& p) {
  if (p.panel != 64 || p.N % 64 != 0 || p.K % 16 != 0) return;
  try {
    const Key probe{static_cast<int>(MatType::F32), p.K, p.N, 128, false, static_cast<int>(Activation::Linear), false};
    const auto pd = make_pd(probe, memory::desc({p.K, p.N}, dt::f32, memory::format_tag::any));
    if (std::string(pd.impl_info_str()).rfind("brg", 0) != 0) return;
    const dnnl_memory_desc_t& d = pd.weights_desc().data;
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    if (d.format_kind == dnnl_blocked && b.inner_nblks == 2 && b.inner_blks[0] == 16 && b.inner_idxs[0] == 0 &&
        b.inner_blks[1] == 64 && b.inner_idxs[1] == 1 && b.strides[0] == 16 * 64 && b.strides[1] == p.K * 64 &&
        d.padded_dims[0] == p.K && d.padded_dims[1] == p.N && pd.weights_desc().get_size() == p.panels.size() * 4) {
      p.wdesc = pd.weights_desc();
      p.brgemm_panels = true;
    }
  } catch (const dnnl::error&) {
  }
}

}  // namespace

void pack_panels(PackedLinear& p, const float* W) {
  p.panel = kPanel;
  const int64_t n = p.N * p.K;
  p.panels.allocate(static_cast<size_t>(n));
  memory::desc md;
  if (panels_desc(p, &md))
    reorder_panels(p, md, p.panels.data(), const_cast<float*>(W), true);
  else
    transpose_panels<true>(p, p.panels.data(), const_cast<float*>(W));
  if (p.rounded) {   // bf16: the panels' values rounded to bf16 bits (nearest even), half the bytes
    p.panels16.allocate(static_cast<size_t>(n));
    vec::to_bf16_row(p.panels.data(), p.panels16.data(), n);
    p.panels = MappedBuffer<float>();
    return;
  }
  check_brgemm_panels(p);
}

void unpack_panels(const PackedLinear& p, float* W) {
  MappedBuffer<float> wide;
  float* panels = p.panels.data();
  if (p.rounded) {
    wide.allocate(static_cast<size_t>(p.N * p.K));
    vec::bf16_to_f32_row(p.panels16.data(), wide.data(), p.N * p.K);
    panels = wide.data();
  }
  memory::desc md;
  if (panels_desc(p, &md)) return reorder_panels(p, md, panels, W, false);
  transpose_panels<false>(p, panels, W);
}

void linear_xsmm(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate) {
#ifdef ERNIE_HAVE_LIBXSMM
  const int64_t K = w.K, N = w.N, P = w.panel;
  const int64_t blocks = (M + kRowBlock - 1) / kRowBlock;
  const int64_t mb = (M + blocks - 1) / blocks;   // balanced row blocks: no tiny tail block
  const int64_t last_rows = M - (blocks - 1) * mb;
  const int64_t panels = (N + P - 1) / P, last_w = N - (panels - 1) * P;
  // The (at most four) kernels this call needs: full / last panel x full / last row block.
  const bool pf = K * P * static_cast<int64_t>(sizeof(float)) <= (256 << 10);
  const XsmmKernel k_full = xsmm_kernel(P, mb, K, P, pf);
  const XsmmKernel k_rows = last_rows == mb ? k_full : xsmm_kernel(P, last_rows, K, P, pf);
  const XsmmKernel k_cols = last_w == P ? k_full : xsmm_kernel(last_w, mb, K, P, pf);
  const XsmmKernel k_both = last_w == P ? k_rows : last_rows == mb ? k_cols : xsmm_kernel(last_w, last_rows, K, P, pf);
  const float* bias = w.b();
  const int64_t tasks = panels * blocks;
  // bf16 panels at few rows (one row block): widened kChunk k at a time into L1 and multiplied
  // chunk by chunk into C (widening whole panels into L2 and reading them back measured no
  // faster than fp32 panels at one row on AVX-512).
  const bool chunked = w.rounded && blocks == 1;
  const int64_t tail_k = K % kChunk;
  XsmmKernel kc[2][2][2] = {};   // [last panel][K tail][accumulate]
  if (chunked)
    for (int c = 0; c < 2; ++c)
      for (int t = 0; t < 2; ++t)
        for (int a = 0; a < 2; ++a)
          if ((c == 0 || last_w != P) && (t == 0 ? K >= kChunk : tail_k > 0))
            kc[c][t][a] = xsmm_kernel(c ? last_w : P, M, t ? tail_k : kChunk, P, false, a, K);
  // Panel j's fp32 weights: in place, or (bf16 panels, more rows) widened into the thread's
  // scratch `wide` when the thread moves to a new panel. Each thread takes consecutive tasks of
  // one panel (below), so a panel is widened once per thread that works on it.
  auto run = [&](int64_t j, int64_t i, int64_t next_j, float* c, float* wide, int64_t& widened) {
    const int64_t n0 = j * P, m0 = i * mb;
    const int64_t cols = j == panels - 1 ? last_w : P, rows = i == blocks - 1 ? last_rows : mb;
    const XsmmKernel k = cols == P ? (rows == mb ? k_full : k_rows) : (rows == mb ? k_cols : k_both);
    const float* a = wide;
    const void* next;
    if (chunked) {   // one row block: m0 = 0, rows = M
      const uint16_t* src = w.panels16.data() + n0 * K;
      const int last = cols != P;
      for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
        const int64_t kn = std::min(kChunk, K - k0);
        vec::bf16_to_f32_row(src + k0 * cols, wide, kn * cols);
        kc[last][kn != kChunk][k0 > 0](wide, x + k0, c, nullptr, nullptr, nullptr);
      }
      vec::bias_act_block(c, P, bias ? bias + n0 : nullptr, y + n0, N, rows, cols, act, accumulate);
      return;
    }
    if (w.rounded) {
      if (widened != j) vec::bf16_to_f32_row(w.panels16.data() + n0 * K, wide, cols * K);
      widened = j;
      // libxsmm's prefetch fetches an fp32 panel's worth of bytes: the next two bf16 panels.
      next = next_j != j ? static_cast<const void*>(w.panels16.data() + next_j * P * K) : wide;
    } else {
      a = w.panels.data() + n0 * K;
      next = w.panels.data() + next_j * P * K;
    }
    k(a, x + m0 * K, c, next, x + m0 * K, c);
    vec::bias_act_block(c, P, bias ? bias + n0 : nullptr, y + m0 * N + n0, N, rows, cols, act, accumulate);
  };
#pragma omp parallel if (tasks > 1 && M * N * K > (1 << 16))
  {
    thread_local std::vector<float> tile;
    thread_local MappedBuffer<float> wide_panel;   // 64-byte aligned, as the panels (a vector's
                                                   // 16-byte offset measured 15 % slower)
    float* c = scratch(tile, static_cast<size_t>(kRowBlock * P));
    const size_t wide_size = static_cast<size_t>(P * (chunked ? kChunk : K));   // widened floats needed
    if (w.rounded && wide_panel.size() < wide_size) wide_panel.allocate(wide_size);
    float* wide = wide_panel.data();
    int64_t widened = -1;   // the panel now in `wide` (per call: the scratch outlives the matrix)
    if (blocks >= 4) {
      // Many rows (compute-bound): a whole panel per grab, handed out dynamically, so that a
      // thread the OS preempts does not hold the others up (measured +13% at 8 x 128 on a
      // loaded machine; at few rows the static split below measured better).
#pragma omp for schedule(dynamic, 1)
      for (int64_t j = 0; j < panels; ++j)
        for (int64_t i = 0; i < blocks; ++i)
          run(j, i, i + 1 < blocks ? j : std::min(j + 1, panels - 1), c, wide, widened);
    } else {
      // Few rows (bound by streaming the weights): contiguous panels per thread, each prefetching
      // the one it needs next.
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tasks; ++t)
        run(t / blocks, t % blocks, std::min(t + 1, tasks - 1) / blocks, c, wide, widened);
    }
  }
#else
  (void)w, (void)x, (void)y, (void)M, (void)act, (void)accumulate;
  throw Error("internal: built without libxsmm");
#endif
}

}  // namespace ernie::kernels::detail

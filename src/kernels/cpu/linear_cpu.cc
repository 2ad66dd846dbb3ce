// Linear layers: y = act(x · Wᵀ + b) (or y += x · Wᵀ + b), weights packed once.
//
// A Linear layer of the model is packed once (pack_linear) in the layout of the kernel that
// multiplies it; the original [out, in] matrix is not needed afterwards (unpack_linear gives it
// back). Which kernel, measured on AVX-512 and AVX2 machines (docs/PERFORMANCE.md):
//
// * fp32 (and bf16 where the CPU has no bf16 products): libxsmm small-GEMM kernels (JIT for the
//   CPU at hand: AVX2, AVX-512) over Wᵀ cut into panels of kPanel columns, each panel [K][w]
//   contiguous. One kernel call computes a [rows, w] block with the full K reduction in
//   registers, into a per-thread scratch, prefetching the next panel into L2 when panels are
//   small; the bias, activation or residual add follow while the block is in L1
//   (vec::bias_act_block). OpenMP splits (panel, row block) tasks, panels outermost, so each
//   thread streams its own panels once and reuses them across row blocks (few rows: a static
//   split with prefetch; many rows: whole panels handed out dynamically). The row count is free
//   (no primitive per shape), and every output element is the same K-ordered sum whatever the
//   row count, the row block and the thread count: a row's result does not depend on what else
//   is in the batch. oneDNN 2.6 has no packed fp32 kernel for AVX2 and, on AVX-512, its brgemm
//   matmul was slower at 1-16 rows (up to 1.7x at one row) and level beyond. Exception: the
//   panels are also exactly oneDNN's fp32 brgemm weight layout (BA16a64b) when N % 64 == 0 and
//   K % 16 == 0, and for K > 1024 at 16-256 rows brgemm measured 1.07-1.13x faster, so those
//   products run on oneDNN over the same copy (row buckets as below; there a row's result may
//   depend on the row count, never on anything else).
// * bf16 with AVX512-BF16/AMX, and int8: oneDNN matmul with the weights in oneDNN's own blocked
//   layout (format_tag::any, reordered once) so that its brgemm kernels (AMX, AVX512-BF16/VNNI)
//   run without copying the weights on each call. brgemm needs a fixed row count, so primitives
//   are cached per row bucket: rows are split into chunks of 512, then one chunk of 128, 256 or
//   384, then a tail rounded up to 16 (the AMX tile height); the padding rows of the tail are zero
//   inputs whose outputs are dropped. The same row count always gives the same chunks, so results
//   are deterministic. Where oneDNN has no brgemm kernel for a type (int8 on AVX2), the weights
//   stay [out, in] and one primitive with a runtime row count is used, as before packing existed.
// * int8 (dynamic quantization, ONNX Runtime's recipe): weights per output channel to int8, each
//   activation row to u8 with its own scale (zero point 128), u8 x s8 -> s32 in oneDNN, then one
//   vectorized pass applies (acc - 128·Σw) · s_row · s_col + b, the activation and the residual.
//   Weights use the 7-bit range [-63, 63] (ONNX Runtime's reduce_range): without VNNI the
//   vpmaddubsw pair sums saturate at 16 bits otherwise.
// * The unpacked linear(x, W, b, ...) (heads, training) reads W in place through a oneDNN matmul
//   with a runtime row count (strides {1, K}: no copy).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>
#ifdef ERNIE_HAVE_LIBXSMM
#include <libxsmm.h>
#endif

#include "ernie/error.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "kernels/mapped.h"

namespace ernie::kernels {

struct PackedLinear {
  MatType type = MatType::F32;
  MatType prod = MatType::F32;   // the type oneDNN multiplies in (F32 for emulated bf16)
  LinearKernel kernel = LinearKernel::Libxsmm;
  int64_t K = 0, N = 0;
  std::vector<float> bias;   // [N], or empty
  const float* b() const { return bias.empty() ? nullptr : bias.data(); }
  // Libxsmm: Wᵀ in panels of `panel` columns, panel j = columns [j·panel, j·panel + w) as [K][w]
  // (w = panel except for the last); exactly N·K floats. BF16 without native bf16 products keeps
  // the bf16-rounded weights here (`rounded`) and rounds each activation row the same way.
  int64_t panel = 0;
  bool rounded = false;
  bool brgemm_panels = false;   // the panels are also oneDNN's fp32 brgemm layout (wdesc describes them)
  MappedBuffer<float> panels;
  // Onednn: the weights as oneDNN's matmul wants them (wdesc: blocked for brgemm, or [K, N] with
  // strides {1, K} when `plain`: the original layout, multiplied with a runtime row count).
  dnnl::memory::desc wdesc;
  bool plain = false;
  MappedBuffer<char> wdata;
  // S8: per output channel scale [N] and 128·Σ_k q[n, k] [N] (the u8 zero point's share).
  std::vector<float> scale;
  std::vector<int32_t> comp;
};

namespace {

using dnnl::memory;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Streams are not thread-safe: one per calling thread.
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

bool has_isa(dnnl::cpu_isa want) {   // oneDNN's ISA values are nested bit masks
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return (isa & static_cast<unsigned>(want)) == static_cast<unsigned>(want);
}

bool onednn_eltwise(Activation act, dnnl::algorithm* alg, float* alpha) {
  *alpha = 0.0f;
  switch (act) {
    case Activation::Relu: *alg = dnnl::algorithm::eltwise_relu; return true;
    case Activation::Gelu: *alg = dnnl::algorithm::eltwise_gelu_erf; return true;
    case Activation::GeluNew:
    case Activation::GeluFast: *alg = dnnl::algorithm::eltwise_gelu_tanh; return true;
    case Activation::QuickGelu: *alg = dnnl::algorithm::eltwise_swish; *alpha = 1.702f; return true;
    case Activation::Silu: *alg = dnnl::algorithm::eltwise_swish; *alpha = 1.0f; return true;
    case Activation::Tanh: *alg = dnnl::algorithm::eltwise_tanh; return true;
    case Activation::Sigmoid: *alg = dnnl::algorithm::eltwise_logistic; return true;
    case Activation::Linear: return false;
  }
  return false;
}

template <class T>
T* scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// ---- oneDNN matmul primitives -----------------------------------------------------------------

dt src_type(MatType t) { return t == MatType::F32 ? dt::f32 : t == MatType::BF16 ? dt::bf16 : dt::u8; }
dt wei_type(MatType t) { return t == MatType::F32 ? dt::f32 : t == MatType::BF16 ? dt::bf16 : dt::s8; }
dt dst_type(MatType t) { return t == MatType::S8 ? dt::s32 : dt::f32; }

// rows: a fixed row count (blocked weights), or 0 for a runtime row count over [K, N] weights
// with strides {1, K}. `wdesc` is the blocked weights' layout (ignored when rows == 0).
struct Key {
  int type;
  int64_t K, N, rows;
  bool bias;
  int act;
  bool accumulate;
  bool operator==(const Key& o) const {
    return std::tie(type, K, N, rows, bias, act, accumulate) ==
           std::tie(o.type, o.K, o.N, o.rows, o.bias, o.act, o.accumulate);
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<int64_t>()((((k.K * 1000003 + k.N) * 8191 + k.rows) * 31 + k.type) * 64 + k.act * 4 +
                                k.bias * 2 + k.accumulate);
  }
};

dnnl::matmul::primitive_desc make_pd(const Key& key, const memory::desc& wdesc) {
  const auto type = static_cast<MatType>(key.type);
  const memory::dim M = key.rows ? key.rows : DNNL_RUNTIME_DIM_VAL;
  const memory::desc src({M, key.K}, src_type(type), memory::dims{key.K, 1});
  const memory::desc wei = key.rows ? wdesc : memory::desc({key.K, key.N}, wei_type(type), memory::dims{1, key.K});
  const memory::desc bias = key.bias ? memory::desc({1, key.N}, dt::f32, memory::dims{key.N, 1}) : memory::desc();
  const memory::desc dst({M, key.N}, dst_type(type), memory::dims{key.N, 1});
  dnnl::post_ops ops;
  if (key.accumulate) ops.append_sum(1.0f);
  dnnl::algorithm alg;
  float alpha;
  if (onednn_eltwise(static_cast<Activation>(key.act), &alg, &alpha)) ops.append_eltwise(1.0f, alg, alpha, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, bias, dst), attr, engine());
}

// Cached per key and weights layout (the layouts of one key agree in practice: the check is cheap).
std::shared_ptr<const dnnl::matmul> primitive(const Key& key, const memory::desc& wdesc) {
  struct Entry {
    memory::desc wdesc;
    std::shared_ptr<const dnnl::matmul> matmul;
  };
  static std::mutex mu;
  static std::unordered_multimap<Key, Entry, KeyHash> cache;
  std::lock_guard<std::mutex> lock(mu);
  const memory::desc layout = key.rows ? wdesc : memory::desc();
  for (auto [it, end] = cache.equal_range(key); it != end; ++it)
    if (it->second.wdesc == layout) return it->second.matmul;
  auto p = std::make_shared<const dnnl::matmul>(make_pd(key, wdesc));
  cache.emplace(key, Entry{layout, p});
  return p;
}

// The rows of one oneDNN call over blocked weights: chunks of 512, then one of 128/256/384, then
// the rest rounded up to 16. `pad` is the padded size of the last chunk.
struct Chunk {
  int64_t first, rows, pad;
};
std::vector<Chunk> row_chunks(int64_t M) {
  std::vector<Chunk> c;
  int64_t m = 0;
  for (; M - m >= 512; m += 512) c.push_back({m, 512, 512});
  if (M - m >= 128) {
    const int64_t r = (M - m) / 128 * 128;
    c.push_back({m, r, r});
    m += r;
  }
  if (M > m) c.push_back({m, M - m, (M - m + 15) / 16 * 16});
  return c;
}

// Packs W [N, K] for oneDNN: blocked for brgemm where oneDNN has it for this type, else plain.
void pack_onednn(PackedLinear& p, const void* w, dt w_type) {
  const memory::desc plain_desc({p.K, p.N}, w_type, memory::dims{1, p.K});
  const Key probe{static_cast<int>(p.prod), p.K, p.N, 128, false, static_cast<int>(Activation::Linear), false};
  memory::desc blocked({p.K, p.N}, wei_type(p.prod), memory::format_tag::any);
  bool use_blocked = false;
  try {
    const auto pd = make_pd(probe, blocked);
    use_blocked = std::string(pd.impl_info_str()).rfind("brg", 0) == 0;
    if (use_blocked) blocked = pd.weights_desc();
  } catch (const dnnl::error&) {
  }
  p.plain = !use_blocked;
  p.wdesc = use_blocked ? blocked : memory::desc({p.K, p.N}, wei_type(p.prod), memory::dims{1, p.K});
  p.wdata.allocate(p.wdesc.get_size());
  memory src(plain_desc, engine(), const_cast<void*>(w));
  memory dst(p.wdesc, engine(), p.wdata.data());
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
}

// ---- libxsmm ----------------------------------------------------------------------------------

#ifdef ERNIE_HAVE_LIBXSMM
using XsmmKernel = libxsmm_smmfunction;

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

// C[w, rows] (column-major, ldc = panel) = A[w, K] (a panel, lda = w) · B[K, rows] (x, ldb = K).
// With `prefetch` the kernel also pulls the next call's panel into L2 while it computes
// (LIBXSMM_GEMM_PREFETCH_AL2). Measured on the seed shapes, 2 threads, weights beyond L3: with
// K = 768 (192 KiB panels) 1.15-1.28x faster at 4-16 rows, 1.03-1.09x at 64-128; with K = 3072
// (768 KiB panels, two of which crowd the x block out of L2) 0.86-1.0x, so only small panels do it.
XsmmKernel xsmm_kernel(int64_t w, int64_t rows, int64_t K, int64_t ldc, bool prefetch_next) {
  const float alpha = 1.0f, beta = 0.0f;
  const libxsmm_blasint lda = static_cast<libxsmm_blasint>(w), ldb = static_cast<libxsmm_blasint>(K),
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
void reorder_panels(const PackedLinear& p, const memory::desc& panels, float* W, bool pack) {
  memory plain(memory::desc({p.K, p.N}, dt::f32, memory::dims{1, p.K}), engine(), W);
  memory blocked(panels, engine(), p.panels.data());
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

void pack_panels(PackedLinear& p, const float* W) {
  p.panel = kPanel;
  p.panels.allocate(static_cast<size_t>(p.N * p.K));
  memory::desc md;
  if (panels_desc(p, &md))
    reorder_panels(p, md, const_cast<float*>(W), true);
  else
    transpose_panels<true>(p, p.panels.data(), const_cast<float*>(W));
  check_brgemm_panels(p);
}

void unpack_panels(const PackedLinear& p, float* W) {
  memory::desc md;
  if (panels_desc(p, &md)) return reorder_panels(p, md, W, false);
  transpose_panels<false>(p, p.panels.data(), W);
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
  auto run = [&](int64_t j, int64_t i, int64_t next_j, float* c) {
    const int64_t n0 = j * P, m0 = i * mb;
    const int64_t cols = j == panels - 1 ? last_w : P, rows = i == blocks - 1 ? last_rows : mb;
    const XsmmKernel k = cols == P ? (rows == mb ? k_full : k_rows) : (rows == mb ? k_cols : k_both);
    k(w.panels.data() + n0 * K, x + m0 * K, c, w.panels.data() + next_j * P * K, x + m0 * K, c);
    vec::bias_act_block(c, P, bias ? bias + n0 : nullptr, y + m0 * N + n0, N, rows, cols, act, accumulate);
  };
#pragma omp parallel if (tasks > 1 && M * N * K > (1 << 16))
  {
    thread_local std::vector<float> tile;
    float* c = scratch(tile, static_cast<size_t>(kRowBlock * P));
    if (blocks >= 4) {
      // Many rows (compute-bound): a whole panel per grab, handed out dynamically, so that a
      // thread the OS preempts does not hold the others up (measured +13% at 8 x 128 on a
      // loaded machine; at few rows the static split below measured better).
#pragma omp for schedule(dynamic, 1)
      for (int64_t j = 0; j < panels; ++j)
        for (int64_t i = 0; i < blocks; ++i) run(j, i, i + 1 < blocks ? j : std::min(j + 1, panels - 1), c);
    } else {
      // Few rows (bound by streaming the weights): contiguous panels per thread, each prefetching
      // the one it needs next.
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tasks; ++t) run(t / blocks, t % blocks, std::min(t + 1, tasks - 1) / blocks, c);
    }
  }
#else
  (void)w, (void)x, (void)y, (void)M, (void)act, (void)accumulate;
  throw Error("internal: built without libxsmm");
#endif
}

// fp32 / bf16 through oneDNN: blocked weights in row chunks, or plain weights with runtime rows.
void linear_onednn(const PackedLinear& w, const void* x, float* y, int64_t M, Activation act, bool accumulate) {
  const int64_t K = w.K, N = w.N;
  dnnl::algorithm alg;
  float alpha;
  const bool fused_act = onednn_eltwise(act, &alg, &alpha);
  const int64_t esize = w.prod == MatType::BF16 ? 2 : 4;
  const dt stype = src_type(w.prod);
  Key key{static_cast<int>(w.prod), K, N, 0, !w.bias.empty(), static_cast<int>(fused_act ? act : Activation::Linear),
          accumulate};
  memory wmem(w.wdesc, engine(), w.brgemm_panels ? static_cast<void*>(w.panels.data()) : w.wdata.data());
  auto run = [&](int64_t rows, const void* src, float* dst) {
    key.rows = w.plain ? 0 : rows;
    const auto p = primitive(key, w.wdesc);
    std::unordered_map<int, memory> args;
    args.emplace(DNNL_ARG_SRC, memory({{rows, K}, stype, memory::dims{K, 1}}, engine(), const_cast<void*>(src)));
    args.emplace(DNNL_ARG_WEIGHTS, wmem);
    args.emplace(DNNL_ARG_DST, memory({{rows, N}, dt::f32, memory::dims{N, 1}}, engine(), dst));
    if (!w.bias.empty())
      args.emplace(DNNL_ARG_BIAS, memory({{1, N}, dt::f32, memory::dims{N, 1}}, engine(), const_cast<float*>(w.b())));
    p->execute(stream(), args);
    stream().wait();
  };
  if (w.plain) {
    run(M, x, y);
  } else {
    for (const Chunk& c : row_chunks(M)) {
      const char* src = static_cast<const char*>(x) + c.first * K * esize;
      float* dst = y + c.first * N;
      if (c.pad == c.rows) {
        run(c.rows, src, dst);
        continue;
      }
      // The tail: padded copies (zero rows in, outputs of the padding rows dropped).
      thread_local std::vector<char> xs;
      thread_local std::vector<float> ys;
      char* xp = scratch(xs, static_cast<size_t>(c.pad * K * esize));
      float* yp = scratch(ys, static_cast<size_t>(c.pad * N));
      std::memcpy(xp, src, c.rows * K * esize);
      std::memset(xp + c.rows * K * esize, 0, (c.pad - c.rows) * K * esize);
      if (accumulate) std::memcpy(yp, dst, sizeof(float) * c.rows * N);
      run(c.pad, xp, yp);
      std::memcpy(dst, yp, sizeof(float) * c.rows * N);
    }
  }
  if (!fused_act && act != Activation::Linear) {
#pragma omp parallel for schedule(static) if (M * N > 1 << 14)
    for (int64_t m = 0; m < M; ++m) vec::activate_row(y + m * N, N, act);
  }
}

void linear_s8(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate) {
  const int64_t K = w.K, N = w.N;
  // Quantize rows (padding rows zero), u8 x s8 -> s32, then dequantize with bias / act / residual.
  const std::vector<Chunk> chunks = w.plain ? std::vector<Chunk>{{0, M, M}} : row_chunks(M);
  const int64_t Mp = chunks.back().first + chunks.back().pad;
  thread_local std::vector<uint8_t> xq;
  thread_local std::vector<float> sx;
  thread_local std::vector<int32_t> acc;
  uint8_t* q = scratch(xq, Mp * K);
  float* s = scratch(sx, M);
  int32_t* a = scratch(acc, Mp * N);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
  for (int64_t m = 0; m < M; ++m) s[m] = vec::quantize_row_u8(x + m * K, K, q + m * K);
  std::memset(q + M * K, 128, (Mp - M) * K);   // u8 zero point: the padding rows are zeros
  memory wmem(w.wdesc, engine(), w.wdata.data());
  for (const Chunk& c : chunks) {
    const int64_t rows = c.pad;
    const Key key{static_cast<int>(MatType::S8), K, N, w.plain ? 0 : rows, false,
                  static_cast<int>(Activation::Linear), false};
    const auto p = primitive(key, w.wdesc);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory({{rows, K}, dt::u8, memory::dims{K, 1}}, engine(), q + c.first * K)},
        {DNNL_ARG_WEIGHTS, wmem},
        {DNNL_ARG_DST, memory({{rows, N}, dt::s32, memory::dims{N, 1}}, engine(), a + c.first * N)},
    };
    p->execute(stream(), args);
    stream().wait();
  }
  const bool relu = act == Activation::Relu;
#pragma omp parallel for schedule(static) if (M * N > 1 << 14)
  for (int64_t m = 0; m < M; ++m) {
    vec::dequant_row(a + m * N, w.comp.data(), w.scale.data(), s[m], w.b(), y + m * N, N, relu, accumulate);
    if (!relu && act != Activation::Linear) vec::activate_row(y + m * N, N, act);
  }
}

LinearKernel choose_kernel(MatType type, LinearKernel want) {
  if (type == MatType::S8 || (type == MatType::BF16 && native_support(MatType::BF16))) return LinearKernel::Onednn;
#ifdef ERNIE_HAVE_LIBXSMM
  if (want == LinearKernel::Auto) {
    static const LinearKernel def = [] {
      const char* e = std::getenv("ERNIE_LINEAR_KERNEL");
      if (e && std::string(e) == "onednn") return LinearKernel::Onednn;
      return xsmm_ready() ? LinearKernel::Libxsmm : LinearKernel::Onednn;
    }();
    return def;
  }
  if (want == LinearKernel::Libxsmm && !xsmm_ready()) throw Error("libxsmm has no kernels for this CPU");
  return want;
#else
  if (want == LinearKernel::Libxsmm) throw Error("this build has no libxsmm (install libxsmm-dev and rebuild)");
  return LinearKernel::Onednn;
#endif
}

std::shared_ptr<PackedLinear> new_packed(MatType type, int64_t K, int64_t N, const float* b) {
  auto p = std::make_shared<PackedLinear>();
  p->type = type;
  p->prod = type == MatType::BF16 && !native_support(MatType::BF16) ? MatType::F32 : type;
  p->K = K;
  p->N = N;
  if (b) p->bias.assign(b, b + N);
  return p;
}

}  // namespace

void quantize_weights(const float* W, int64_t K, int64_t N, int8_t* q, float* scale) {
#pragma omp parallel for schedule(static) if (N * K > 1 << 16)
  for (int64_t n = 0; n < N; ++n) scale[n] = vec::quantize_row_s8(W + n * K, K, 63, q + n * K);
}

std::shared_ptr<const PackedLinear> pack_linear_s8(const int8_t* q, const float* scale, const float* b, int64_t K,
                                                   int64_t N) {
  auto p = new_packed(MatType::S8, K, N, b);
  p->kernel = LinearKernel::Onednn;
  p->scale.assign(scale, scale + N);
  p->comp.resize(N);
  for (int64_t n = 0; n < N; ++n) {
    int32_t s = 0, bad = 0;
#pragma omp simd reduction(+ : s, bad)
    for (int64_t k = 0; k < K; ++k) {
      const int32_t v = q[n * K + k];
      bad += v < -63 || v > 63;
      s += v;
    }
    if (bad) throw Error("int8 weights must lie in [-63, 63]");
    p->comp[n] = 128 * s;
  }
  pack_onednn(*p, q, dt::s8);
  return p;
}

std::shared_ptr<const PackedLinear> pack_linear(const float* W, const float* b, int64_t K, int64_t N, MatType type,
                                                LinearKernel kernel) {
  if (type == MatType::S8) {
    thread_local MappedBuffer<int8_t> q;   // reused: one fresh mapping per matrix costs more than packing
    if (q.size() < static_cast<size_t>(N * K)) q.allocate(N * K);
    std::vector<float> scale(N);
    quantize_weights(W, K, N, q.data(), scale.data());
    return pack_linear_s8(q.data(), scale.data(), b, K, N);
  }
  auto p = new_packed(type, K, N, b);
  p->kernel = choose_kernel(type, kernel);
  // bf16 without native products: the bf16-rounded weights multiplied in fp32 (exact widening).
  MappedBuffer<float> rounded;
  if (type == MatType::BF16 && !native_support(MatType::BF16)) {
    rounded.allocate(N * K);
    vec::round_bf16_row(W, rounded.data(), N * K);
    W = rounded.data();
    p->rounded = true;
  }
  if (p->kernel == LinearKernel::Libxsmm)
    pack_panels(*p, W);
  else
    pack_onednn(*p, W, dt::f32);   // the reorder converts fp32 -> bf16 (round to nearest even) for BF16
  return p;
}

void unpack_linear(const PackedLinear& p, float* W) {
  if (p.kernel == LinearKernel::Libxsmm) return unpack_panels(p, W);
  const int64_t K = p.K, N = p.N;
  const dt t = p.type == MatType::S8 ? dt::s8 : dt::f32;   // oneDNN reorders bf16 -> f32 exactly
  MappedBuffer<int8_t> q(p.type == MatType::S8 ? N * K : 0);
  void* out = p.type == MatType::S8 ? static_cast<void*>(q.data()) : static_cast<void*>(W);
  memory src(p.wdesc, engine(), p.wdata.data());
  memory dst(memory::desc({K, N}, t, memory::dims{1, K}), engine(), out);
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
  if (p.type == MatType::S8)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) W[n * K + k] = q[n * K + k] * p.scale[n];
}

const float* packed_bias(const PackedLinear& p) { return p.b(); }
int64_t packed_in(const PackedLinear& p) { return p.K; }
int64_t packed_out(const PackedLinear& p) { return p.N; }
MatType packed_type(const PackedLinear& p) { return p.type; }
size_t packed_bytes(const PackedLinear& p) {
  return p.panels.size() * sizeof(float) + p.wdata.size() + p.bias.size() * sizeof(float) + p.scale.size() * sizeof(float) +
         p.comp.size() * sizeof(int32_t);
}
std::string packed_kernel(const PackedLinear& p) {
  if (p.kernel == LinearKernel::Libxsmm) return p.brgemm_panels && p.K > 1024 ? "libxsmm/brgemm" : "libxsmm";
  return p.plain ? "onednn-plain" : "onednn-blocked";
}

void linear(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate) {
  if (M <= 0) return;
  if (w.type == MatType::S8) return linear_s8(w, x, y, M, act, accumulate);
  const int64_t K = w.K;
  const void* src = x;
  if (w.type == MatType::BF16) {   // activations rounded to bf16: as fp32 or as bf16
    thread_local std::vector<float> xr;
    thread_local std::vector<uint16_t> xb;
    if (w.rounded) {
      float* r = scratch(xr, M * K);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
      for (int64_t m = 0; m < M; ++m) vec::round_bf16_row(x + m * K, r + m * K, K);
      src = r;
    } else {
      uint16_t* r = scratch(xb, M * K);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
      for (int64_t m = 0; m < M; ++m) vec::to_bf16_row(x + m * K, r + m * K, K);
      src = r;
    }
  }
  // fp32 panels: libxsmm, except where oneDNN's brgemm measured faster over the same copy (long
  // rows, K > 1024, at 16-256 rows: 1.07-1.13x for the seed's 3072 -> 768 product; libxsmm's
  // L2 prefetch does not pay there, see xsmm_kernel).
  if (w.kernel == LinearKernel::Libxsmm && !(w.brgemm_panels && w.K > 1024 && M >= 16 && M <= 256))
    return linear_xsmm(w, static_cast<const float*>(src), y, M, act, accumulate);
  linear_onednn(w, src, y, M, act, accumulate);
}

// The unprepared form: fp32, weights read in place with a runtime row count.
void linear(const float* x, const float* W, const float* b, float* y, int64_t M, int64_t K, int64_t N) {
  if (M <= 0) return;
  const Key key{static_cast<int>(MatType::F32), K, N, 0, b != nullptr, static_cast<int>(Activation::Linear), false};
  const auto p = primitive(key, memory::desc());
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory({{M, K}, dt::f32, memory::dims{K, 1}}, engine(), const_cast<float*>(x)));
  args.emplace(DNNL_ARG_WEIGHTS, memory({{K, N}, dt::f32, memory::dims{1, K}}, engine(), const_cast<float*>(W)));
  args.emplace(DNNL_ARG_DST, memory({{M, N}, dt::f32, memory::dims{N, 1}}, engine(), y));
  if (b) args.emplace(DNNL_ARG_BIAS, memory({{1, N}, dt::f32, memory::dims{N, 1}}, engine(), const_cast<float*>(b)));
  p->execute(stream(), args);
  stream().wait();
}

std::string matmul_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

bool native_support(MatType type) {
  switch (type) {
    case MatType::F32: return true;
    case MatType::BF16: return has_isa(dnnl::cpu_isa::avx512_core_bf16);
    case MatType::S8: return has_isa(dnnl::cpu_isa::avx2);
  }
  return false;
}

}  // namespace ernie::kernels

// ---------------------------------------------------------------------------------------------
// Training: linear_backward. Both products go through dnnl_sgemm (row-major BLAS); the bias
// gradient is a plain column sum, each column summed over the rows in order (deterministic for
// any thread count: threads split the columns, never the rows).
// ---------------------------------------------------------------------------------------------
#include <algorithm>

#include <oneapi/dnnl/dnnl.h>

namespace ernie::kernels {

namespace {
void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success)
    throw Error("linear_backward: dnnl_sgemm failed");
}
}  // namespace

void linear_backward(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db, int64_t M,
                     int64_t K, int64_t N, bool accumulate_dx) {
  if (M <= 0 || K < 0 || N < 0) return;
  if (dx) {
    if (N == 0) {
      if (!accumulate_dx) std::memset(dx, 0, sizeof(float) * M * K);
    } else if (K > 0) {
      // dx[M, K] (=|+=) dy[M, N] · W[N, K]
      sgemm('N', 'N', M, K, N, 1.0f, dy, N, W, K, accumulate_dx ? 1.0f : 0.0f, dx, K);
    }
  }
  if (dW && N > 0 && K > 0) sgemm('T', 'N', N, K, M, 1.0f, dy, N, x, K, 1.0f, dW, K);   // dW += dyᵀ · x
  if (db && N > 0) {
    constexpr int64_t kCols = 64;
    const int64_t blocks = (N + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (M * N > 1 << 15)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kCols, c1 = std::min(N, c0 + kCols);
      double acc[kCols] = {};
      for (int64_t r = 0; r < M; ++r) {
        const float* row = dy + r * N;
        for (int64_t c = c0; c < c1; ++c) acc[c - c0] += row[c];
      }
      for (int64_t c = c0; c < c1; ++c) db[c] += static_cast<float>(acc[c - c0]);
    }
  }
}

}  // namespace ernie::kernels

// Linear layers: y = act(x · Wᵀ + b) (or y += x · Wᵀ + b), weights packed once. This file:
// packing and dispatch, the oneDNN and int8 paths; linear_xsmm_cpu.cc: the fp32 panels and
// libxsmm; linear_backward_cpu.cc: training's backward.
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
//   is in the batch. bf16 layers on such CPUs keep their panels as bf16 (half the bytes) and
//   widen them just before each product (linear_xsmm_cpu.cc). oneDNN 2.6 has no packed fp32
//   kernel for AVX2 and, on AVX-512, its brgemm matmul was slower at 1-16 rows (up to 1.7x at
//   one row) and level beyond. Exception (fp32 only): the
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
//   are deterministic. Where oneDNN has no brgemm kernel for int8 (AVX2, AVX-VNNI) its gemm:jit
//   copies the weights on every call: there they are packed once into our own panels and
//   multiplied by our kernel (linear_s8_panels_cpu.cc). Any other type without brgemm keeps plain
//   [out, in] weights and one primitive with a runtime row count.
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

#include "ernie/error.h"
#include "kernels/cpu/linear_cpu.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "kernels/mapped.h"
namespace ernie::kernels {

namespace detail {

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

namespace {
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

// ---- oneDNN matmul primitives -----------------------------------------------------------------

dt src_type(MatType t) { return t == MatType::F32 ? dt::f32 : t == MatType::BF16 ? dt::bf16 : dt::u8; }
dt wei_type(MatType t) { return t == MatType::F32 ? dt::f32 : t == MatType::BF16 ? dt::bf16 : dt::s8; }
dt dst_type(const Key& k) {
  return k.type == static_cast<int>(MatType::S8) ? dt::s32 : k.bf16_out ? dt::bf16 : dt::f32;
}

}  // namespace

dnnl::matmul::primitive_desc make_pd(const Key& key, const memory::desc& wdesc) {
  const auto type = static_cast<MatType>(key.type);
  const memory::dim M = key.rows ? key.rows : DNNL_RUNTIME_DIM_VAL;
  const memory::desc src({M, key.K}, src_type(type), memory::dims{key.K, 1});
  const memory::desc wei = key.rows ? wdesc : memory::desc({key.K, key.N}, wei_type(type), memory::dims{1, key.K});
  const memory::desc bias = key.bias ? memory::desc({1, key.N}, dt::f32, memory::dims{key.N, 1}) : memory::desc();
  const memory::desc dst({M, key.N}, dst_type(key), memory::dims{key.N, 1});
  dnnl::post_ops ops;
  if (key.accumulate) ops.append_sum(1.0f);
  dnnl::algorithm alg;
  float alpha;
  if (onednn_eltwise(static_cast<Activation>(key.act), &alg, &alpha)) ops.append_eltwise(1.0f, alg, alpha, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, bias, dst), attr, engine());
}

}  // namespace detail

namespace {

using namespace detail;

struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<int64_t>()((((k.K * 1000003 + k.N) * 8191 + k.rows) * 31 + k.type) * 128 + k.act * 8 +
                                k.bias * 4 + k.accumulate * 2 + k.bf16_out);
  }
};

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

// The blocked weight layout of oneDNN's brgemm for this shape and type, or a zero desc where
// oneDNN has no brgemm kernel for it (then it multiplies plain weights with gemm:jit).
memory::desc blocked_layout(const PackedLinear& p) {
  const Key probe{static_cast<int>(p.prod), p.K, p.N, 128, false, static_cast<int>(Activation::Linear), false};
  try {
    const auto pd = make_pd(probe, memory::desc({p.K, p.N}, wei_type(p.prod), memory::format_tag::any));
    if (std::string(pd.impl_info_str()).rfind("brg", 0) == 0) return pd.weights_desc();
  } catch (const dnnl::error&) {
  }
  return memory::desc();
}

// Packs W [N, K] for oneDNN: in `blocked` (from blocked_layout), or plain when that is zero.
void pack_onednn(PackedLinear& p, const void* w, dt w_type, const memory::desc& blocked) {
  const memory::desc plain_desc({p.K, p.N}, w_type, memory::dims{1, p.K});
  p.plain = blocked.is_zero();
  p.wdesc = p.plain ? memory::desc({p.K, p.N}, wei_type(p.prod), memory::dims{1, p.K}) : blocked;
  p.wdata.allocate(p.wdesc.get_size());
  memory src(plain_desc, engine(), const_cast<void*>(w));
  memory dst(p.wdesc, engine(), p.wdata.data());
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
}

}  // namespace

namespace detail {

// fp32 / bf16 through oneDNN: blocked weights in row chunks, or plain weights with runtime rows.
// With bf16_out (bf16 products, an activation oneDNN fuses or none) y is bf16 rows.
void linear_onednn(const PackedLinear& w, const void* x, void* y, int64_t M, Activation act, bool accumulate,
                   bool bf16_out) {
  const int64_t K = w.K, N = w.N;
  dnnl::algorithm alg;
  float alpha;
  const bool fused_act = onednn_eltwise(act, &alg, &alpha);
  const int64_t esize = w.prod == MatType::BF16 ? 2 : 4, osize = bf16_out ? 2 : 4;
  const dt stype = src_type(w.prod);
  Key key{static_cast<int>(w.prod), K, N, 0, !w.bias.empty(), static_cast<int>(fused_act ? act : Activation::Linear),
          accumulate, bf16_out};
  memory wmem(w.wdesc, engine(), w.brgemm_panels ? static_cast<void*>(w.panels.data()) : w.wdata.data());
  auto run = [&](int64_t rows, const void* src, void* dst) {
    key.rows = w.plain ? 0 : rows;
    const auto p = primitive(key, w.wdesc);
    std::unordered_map<int, memory> args;
    args.emplace(DNNL_ARG_SRC, memory({{rows, K}, stype, memory::dims{K, 1}}, engine(), const_cast<void*>(src)));
    args.emplace(DNNL_ARG_WEIGHTS, wmem);
    args.emplace(DNNL_ARG_DST, memory({{rows, N}, bf16_out ? dt::bf16 : dt::f32, memory::dims{N, 1}}, engine(), dst));
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
      char* dst = static_cast<char*>(y) + c.first * N * osize;
      if (c.pad == c.rows) {
        run(c.rows, src, dst);
        continue;
      }
      // The tail: padded copies (zero rows in, outputs of the padding rows dropped).
      thread_local std::vector<char> xs, ys;
      char* xp = scratch(xs, static_cast<size_t>(c.pad * K * esize));
      char* yp = scratch(ys, static_cast<size_t>(c.pad * N * osize));
      std::memcpy(xp, src, c.rows * K * esize);
      std::memset(xp + c.rows * K * esize, 0, (c.pad - c.rows) * K * esize);
      if (accumulate) std::memcpy(yp, dst, c.rows * N * osize);
      run(c.pad, xp, yp);
      std::memcpy(dst, yp, c.rows * N * osize);
    }
  }
  if (!fused_act && act != Activation::Linear) {
    if (bf16_out) throw Error("internal: bf16 output needs an activation oneDNN fuses");
    float* yf = static_cast<float*>(y);
#pragma omp parallel for schedule(static) if (M * N > 1 << 14)
    for (int64_t m = 0; m < M; ++m) vec::activate_row(yf + m * N, N, act);
  }
}

Scratch& thread_scratch() {
  thread_local Scratch s;
  return s;
}

const uint16_t* to_bf16_rows(const float* x, int64_t M, int64_t K) {
  uint16_t* r = scratch(thread_scratch().bf16, M * K);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
  for (int64_t m = 0; m < M; ++m) vec::to_bf16_row(x + m * K, r + m * K, K);
  return r;
}

bool fuses_activation(Activation act) {
  dnnl::algorithm alg;
  float alpha;
  return act == Activation::Linear || onednn_eltwise(act, &alg, &alpha);
}

// ---- int8 pieces (also used by feed_forward_cpu.cc) ---------------------------------------------

int64_t s8_padded_rows(const PackedLinear& w, int64_t M) {
  if (w.plain || w.s8_panels) return M;   // no row buckets: no padding rows
  const std::vector<Chunk> chunks = row_chunks(M);
  return chunks.back().first + chunks.back().pad;
}

void s8_quantize_rows(const float* x, int64_t M, int64_t K, int64_t Mp, uint8_t* q, float* s) {
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
  for (int64_t m = 0; m < M; ++m) s[m] = vec::quantize_row_u8(x + m * K, K, q + m * K);
  std::memset(q + M * K, 128, (Mp - M) * K);   // u8 zero point: the padding rows are zeros
}

void s8_product(const PackedLinear& w, const uint8_t* q, int64_t M, int32_t* acc) {
  if (w.s8_panels) return s8_product_panels(w, q, M, acc);
  const int64_t K = w.K, N = w.N;
  const std::vector<Chunk> chunks = w.plain ? std::vector<Chunk>{{0, M, M}} : row_chunks(M);
  memory wmem(w.wdesc, engine(), w.wdata.data());
  for (const Chunk& c : chunks) {
    const int64_t rows = c.pad;
    const Key key{static_cast<int>(MatType::S8), K, N, w.plain ? 0 : rows, false,
                  static_cast<int>(Activation::Linear), false};
    const auto p = primitive(key, w.wdesc);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC,
         memory({{rows, K}, dt::u8, memory::dims{K, 1}}, engine(), const_cast<uint8_t*>(q + c.first * K))},
        {DNNL_ARG_WEIGHTS, wmem},
        {DNNL_ARG_DST, memory({{rows, N}, dt::s32, memory::dims{N, 1}}, engine(), acc + c.first * N)},
    };
    p->execute(stream(), args);
    stream().wait();
  }
}

void s8_dequantize_row(const PackedLinear& w, const int32_t* acc, float sx, float* y, Activation act, bool accumulate) {
  const bool relu = act == Activation::Relu;
  vec::dequant_row(acc, w.comp.data(), w.scale.data(), sx, w.b(), y, w.N, relu, accumulate);
  if (!relu && act != Activation::Linear) vec::activate_row(y, w.N, act);
}

}  // namespace detail

namespace {

void linear_s8(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate) {
  // Quantize rows (padding rows zero), u8 x s8 -> s32, then dequantize with bias / act / residual.
  const int64_t K = w.K, N = w.N, Mp = s8_padded_rows(w, M);
  Scratch& t = thread_scratch();
  uint8_t* q = scratch(t.q, Mp * K);
  float* s = scratch(t.s, M);
  int32_t* a = scratch(t.acc, Mp * N);
  s8_quantize_rows(x, M, K, Mp, q, s);
  s8_product(w, q, M, a);
#pragma omp parallel for schedule(static) if (M * N > 1 << 14)
  for (int64_t m = 0; m < M; ++m) s8_dequantize_row(w, a + m * N, s[m], y + m * N, act, accumulate);
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
                                                   int64_t N, LinearKernel kernel) {
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
  // oneDNN's blocked layout where it has a brgemm kernel (VNNI, AMX); else (AVX2) our panels.
  const memory::desc blocked = blocked_layout(*p);
  if (blocked.is_zero() && kernel != LinearKernel::Onednn && s8_panels_ready())
    pack_s8_panels(*p, q);
  else
    pack_onednn(*p, q, dt::s8, blocked);
  return p;
}

std::shared_ptr<const PackedLinear> pack_linear(const float* W, const float* b, int64_t K, int64_t N, MatType type,
                                                LinearKernel kernel) {
  if (type == MatType::S8) {
    thread_local MappedBuffer<int8_t> q;   // reused: one fresh mapping per matrix costs more than packing
    if (q.size() < static_cast<size_t>(N * K)) q.allocate(N * K);
    std::vector<float> scale(N);
    quantize_weights(W, K, N, q.data(), scale.data());
    return pack_linear_s8(q.data(), scale.data(), b, K, N, kernel);
  }
  auto p = new_packed(type, K, N, b);
  p->kernel = choose_kernel(type, kernel);
  // bf16 without native products: the bf16-rounded weights multiplied in fp32 (exact widening).
  // The panels round as they store bf16 bits; oneDNN's fp32 weights are rounded here.
  p->rounded = type == MatType::BF16 && !native_support(MatType::BF16);
  if (p->kernel == LinearKernel::Libxsmm) {
    pack_panels(*p, W);
    return p;
  }
  MappedBuffer<float> rounded;
  if (p->rounded) {
    rounded.allocate(N * K);
    vec::round_bf16_row(W, rounded.data(), N * K);
    W = rounded.data();
  }
  pack_onednn(*p, W, dt::f32, blocked_layout(*p));   // for native BF16 the reorder rounds to nearest even
  return p;
}

void unpack_linear(const PackedLinear& p, float* W) {
  if (p.kernel == LinearKernel::Libxsmm) return unpack_panels(p, W);
  const int64_t K = p.K, N = p.N;
  const dt t = p.type == MatType::S8 ? dt::s8 : dt::f32;   // oneDNN reorders bf16 -> f32 exactly
  MappedBuffer<int8_t> q(p.type == MatType::S8 ? N * K : 0);
  void* out = p.type == MatType::S8 ? static_cast<void*>(q.data()) : static_cast<void*>(W);
  if (p.s8_panels) {
    unpack_s8_panels(p, q.data());
  } else {
    memory src(p.wdesc, engine(), p.wdata.data());
    memory dst(memory::desc({K, N}, t, memory::dims{1, K}), engine(), out);
    dnnl::reorder(src, dst).execute(stream(), src, dst);
    stream().wait();
  }
  if (p.type == MatType::S8)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) W[n * K + k] = q[n * K + k] * p.scale[n];
}

const float* packed_bias(const PackedLinear& p) { return p.b(); }
int64_t packed_in(const PackedLinear& p) { return p.K; }
int64_t packed_out(const PackedLinear& p) { return p.N; }
MatType packed_type(const PackedLinear& p) { return p.type; }
size_t packed_bytes(const PackedLinear& p) {
  return p.panels.size() * sizeof(float) + p.panels16.size() * sizeof(uint16_t) + p.wdata.size() +
         p.bias.size() * sizeof(float) + p.scale.size() * sizeof(float) + p.comp.size() * sizeof(int32_t);
}
std::string packed_kernel(const PackedLinear& p) {
  if (p.kernel == LinearKernel::Libxsmm) return p.brgemm_panels && p.K > 1024 ? "libxsmm/brgemm" : "libxsmm";
  if (p.s8_panels) return "int8-panels/" + s8_panels_isa();
  return p.plain ? "onednn-plain" : "onednn-blocked";
}

void linear(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate) {
  if (M <= 0) return;
  if (w.type == MatType::S8) return linear_s8(w, x, y, M, act, accumulate);
  const int64_t K = w.K;
  const void* src = x;
  if (w.type == MatType::BF16) {   // activations rounded to bf16: as fp32 or as bf16
    if (w.rounded) {
      float* r = scratch(thread_scratch().rounded, M * K);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
      for (int64_t m = 0; m < M; ++m) vec::round_bf16_row(x + m * K, r + m * K, K);
      src = r;
    } else {
      src = to_bf16_rows(x, M, K);
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

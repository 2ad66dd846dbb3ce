// Linear layers through oneDNN's matmul.
//
// * One primitive per shape class (type, K, N, bias, activation, accumulate) with the row count M
//   as a runtime dimension: a ragged batch of any size reuses it; nothing is created per call.
// * F32 reads the weights in PyTorch's [out, in] layout as a [K, N] matrix with strides {1, K}:
//   nothing is transposed or copied. Bias and activation are fused as oneDNN post-ops; a residual
//   add is fused as a `sum` post-op (y += x·Wᵀ + b).
// * BF16 keeps a bf16 copy of the weights and converts each activation row once per product.
//   Where oneDNN has no bf16 matmul (before AVX512-BF16), the same numbers are multiplied in fp32:
//   bf16 weights and activations widened to fp32 (exact) with fp32 accumulation, at fp32 speed.
// * S8 (dynamic quantization, ONNX Runtime's recipe): weights per output channel to int8, each
//   activation row to u8 with its own scale (zero point 128), u8 x s8 -> s32 in oneDNN, then one
//   vectorized pass applies (acc - 128·Σw) · s_row · s_col + b, the activation and the residual.
//   Weights use the 7-bit range [-63, 63] (ONNX Runtime's reduce_range): without VNNI the
//   vpmaddubsw pair sums saturate at 16 bits otherwise.
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ernie/error.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"

namespace ernie::kernels {

struct PackedLinear {
  MatType type = MatType::F32;
  int64_t K = 0, N = 0;
  const float* W = nullptr;   // original fp32 [N, K] (F32 reads it in place)
  const float* b = nullptr;   // [N] or null
  std::vector<uint16_t> wbf16;   // BF16: [N, K]
  std::vector<float> wround;     // BF16 without native bf16 products: the bf16 weights as fp32
  std::vector<int8_t> q;         // S8: [N, K]
  std::vector<float> scale;      // S8: [N]
  std::vector<int32_t> comp;     // S8: [N] 128 * sum_k q[n, k]
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

struct Key {
  int type;
  int64_t K, N;
  bool bias;
  int act;
  bool accumulate;
  bool operator==(const Key& o) const {
    return std::tie(type, K, N, bias, act, accumulate) == std::tie(o.type, o.K, o.N, o.bias, o.act, o.accumulate);
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<int64_t>()(((k.K * 1000003 + k.N) * 31 + k.type) * 64 + k.act * 4 + k.bias * 2 + k.accumulate);
  }
};

struct Prim {
  dnnl::matmul matmul;
  dt src_type, wei_type, dst_type;
};

std::shared_ptr<const Prim> primitive(const Key& key) {
  static std::mutex mu;
  static std::unordered_map<Key, std::shared_ptr<const Prim>, KeyHash> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto p = std::make_shared<Prim>();
  const auto type = static_cast<MatType>(key.type);
  p->src_type = type == MatType::F32 ? dt::f32 : type == MatType::BF16 ? dt::bf16 : dt::u8;
  p->wei_type = type == MatType::F32 ? dt::f32 : type == MatType::BF16 ? dt::bf16 : dt::s8;
  p->dst_type = type == MatType::S8 ? dt::s32 : dt::f32;
  const memory::dim M = DNNL_RUNTIME_DIM_VAL;
  const memory::desc src({M, key.K}, p->src_type, memory::dims{key.K, 1});
  const memory::desc wei({key.K, key.N}, p->wei_type, memory::dims{1, key.K});
  const memory::desc bias = key.bias ? memory::desc({1, key.N}, dt::f32, memory::dims{key.N, 1}) : memory::desc();
  const memory::desc dst({M, key.N}, p->dst_type, memory::dims{key.N, 1});
  dnnl::post_ops ops;
  if (key.accumulate) ops.append_sum(1.0f);
  dnnl::algorithm alg;
  float alpha;
  if (onednn_eltwise(static_cast<Activation>(key.act), &alg, &alpha)) ops.append_eltwise(1.0f, alg, alpha, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, bias, dst), attr, engine());
  p->matmul = dnnl::matmul(pd);
  cache.emplace(key, p);
  return p;
}

template <class T>
T* scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

void quantize_weights(const float* W, int64_t K, int64_t N, int8_t* q, float* scale) {
  for (int64_t n = 0; n < N; ++n) {
    const float* row = W + n * K;
    float amax = 0.0f;
    for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(row[k]));
    const float s = amax / 63.0f;
    scale[n] = s;
    const float inv = amax > 0.0f ? 63.0f / amax : 0.0f;
    for (int64_t k = 0; k < K; ++k) q[n * K + k] = static_cast<int8_t>(std::lrintf(row[k] * inv));
  }
}

std::shared_ptr<const PackedLinear> pack_linear_s8(const int8_t* q, const float* scale, const float* b, int64_t K,
                                                   int64_t N) {
  auto p = std::make_shared<PackedLinear>();
  p->type = MatType::S8;
  p->K = K;
  p->N = N;
  p->b = b;
  p->q.assign(q, q + N * K);
  p->scale.assign(scale, scale + N);
  p->comp.resize(N);
  for (int64_t n = 0; n < N; ++n) {
    int32_t s = 0;
    for (int64_t k = 0; k < K; ++k) {
      if (q[n * K + k] < -63 || q[n * K + k] > 63) throw Error("int8 weights must lie in [-63, 63]");
      s += q[n * K + k];
    }
    p->comp[n] = 128 * s;
  }
  return p;
}

std::shared_ptr<const PackedLinear> pack_linear(const float* W, const float* b, int64_t K, int64_t N, MatType type) {
  if (type == MatType::S8) {
    std::vector<int8_t> q(N * K);
    std::vector<float> scale(N);
    quantize_weights(W, K, N, q.data(), scale.data());
    auto p = std::const_pointer_cast<PackedLinear>(pack_linear_s8(q.data(), scale.data(), b, K, N));
    p->W = W;
    return p;
  }
  auto p = std::make_shared<PackedLinear>();
  p->type = type;
  p->K = K;
  p->N = N;
  p->W = W;
  p->b = b;
  if (type == MatType::BF16) {
    p->wbf16.resize(N * K);
    vec::to_bf16_row(W, p->wbf16.data(), N * K);
    if (!native_support(MatType::BF16)) {
      p->wround.resize(N * K);
      for (int64_t i = 0; i < N * K; ++i) {
        const uint32_t u = static_cast<uint32_t>(p->wbf16[i]) << 16;
        std::memcpy(&p->wround[i], &u, 4);
      }
      std::vector<uint16_t>().swap(p->wbf16);
    }
  }
  return p;
}

void linear(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate) {
  if (M == 0) return;
  const int64_t K = w.K, N = w.N;
  dnnl::algorithm alg;
  float alpha;
  const bool fused_act = onednn_eltwise(act, &alg, &alpha);
  if (w.type == MatType::S8) {
    // Quantize rows, u8 x s8 -> s32, then dequantize with bias / relu / residual in one pass.
    thread_local std::vector<uint8_t> xq;
    thread_local std::vector<float> sx;
    thread_local std::vector<int32_t> acc;
    uint8_t* q = scratch(xq, M * K);
    float* s = scratch(sx, M);
    int32_t* a = scratch(acc, M * N);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
    for (int64_t m = 0; m < M; ++m) s[m] = vec::quantize_row_u8(x + m * K, K, q + m * K);
    const auto p = primitive({static_cast<int>(MatType::S8), K, N, false, static_cast<int>(Activation::Linear), false});
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory({{M, K}, dt::u8, memory::dims{K, 1}}, engine(), q)},
        {DNNL_ARG_WEIGHTS, memory({{K, N}, dt::s8, memory::dims{1, K}}, engine(), const_cast<int8_t*>(w.q.data()))},
        {DNNL_ARG_DST, memory({{M, N}, dt::s32, memory::dims{N, 1}}, engine(), a)},
    };
    p->matmul.execute(stream(), args);
    stream().wait();
    const bool relu = act == Activation::Relu;
#pragma omp parallel for schedule(static) if (M * N > 1 << 14)
    for (int64_t m = 0; m < M; ++m)
      vec::dequant_row(a + m * N, w.comp.data(), w.scale.data(), s[m], w.b, y + m * N, N, relu, accumulate);
    if (!relu && act != Activation::Linear) activate(act, y, M * N);
    return;
  }

  const bool emulate = w.type == MatType::BF16 && !w.wround.empty();
  const Key key{static_cast<int>(emulate ? MatType::F32 : w.type), K, N, w.b != nullptr, static_cast<int>(fused_act ? act : Activation::Linear),
                accumulate};
  const auto p = primitive(key);
  // x [M, K] row-major and W [K, N] read from PyTorch's [N, K] (strides {1, K}), in the dtype the
  // primitive multiplies: fp32, bf16, or fp32 holding bf16-rounded values (emulated bf16).
  dt type = dt::f32;
  const void* xs = x;
  const void* ws = w.W;
  if (emulate) {
    thread_local std::vector<float> xr;
    float* xround = scratch(xr, M * K);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
    for (int64_t m = 0; m < M; ++m) vec::round_bf16_row(x + m * K, xround + m * K, K);
    xs = xround;
    ws = w.wround.data();
  } else if (w.type == MatType::BF16) {
    thread_local std::vector<uint16_t> xb;
    uint16_t* xbf16 = scratch(xb, M * K);
#pragma omp parallel for schedule(static) if (M * K > 1 << 14)
    for (int64_t m = 0; m < M; ++m) vec::to_bf16_row(x + m * K, xbf16 + m * K, K);
    type = dt::bf16;
    xs = xbf16;
    ws = w.wbf16.data();
  }
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory({{M, K}, type, memory::dims{K, 1}}, engine(), const_cast<void*>(xs)));
  args.emplace(DNNL_ARG_WEIGHTS, memory({{K, N}, type, memory::dims{1, K}}, engine(), const_cast<void*>(ws)));
  args.emplace(DNNL_ARG_DST, memory({{M, N}, dt::f32, memory::dims{N, 1}}, engine(), y));
  if (w.b) args.emplace(DNNL_ARG_BIAS, memory({{1, N}, dt::f32, memory::dims{N, 1}}, engine(), const_cast<float*>(w.b)));
  p->matmul.execute(stream(), args);
  stream().wait();
  if (!fused_act) activate(act, y, M * N);
}

// The unprepared form: fp32, weights read in place.
void linear(const float* x, const float* W, const float* b, float* y, int64_t M, int64_t K, int64_t N) {
  PackedLinear p;
  p.K = K;
  p.N = N;
  p.W = W;
  p.b = b;
  linear(p, x, y, M);
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
  const auto isa = dnnl::get_effective_cpu_isa();
  switch (type) {
    case MatType::F32: return true;
    case MatType::BF16: return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
    case MatType::S8: return isa >= dnnl::cpu_isa::avx2;
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

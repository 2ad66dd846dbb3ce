// Internals shared by the Linear kernels: linear_cpu.cc (dispatch, oneDNN, int8) and
// linear_xsmm_cpu.cc (fp32 panels multiplied by libxsmm). Not a public header.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

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
  // (w = panel except for the last); exactly N·K floats. BF16 without native bf16 products
  // (`rounded`) keeps the bf16-rounded weights' bits in `panels16` instead (same layout, half the
  // bytes), widens them to fp32 just before multiplying (linear_xsmm_cpu.cc), and rounds each
  // activation row to bf16: the products are those of fp32 panels holding the rounded weights.
  int64_t panel = 0;
  bool rounded = false;
  bool brgemm_panels = false;   // the panels are also oneDNN's fp32 brgemm layout (wdesc describes them)
  MappedBuffer<float> panels;
  MappedBuffer<uint16_t> panels16;
  // Onednn: the weights as oneDNN's matmul wants them (wdesc: blocked for brgemm, or [K, N] with
  // strides {1, K} when `plain`: the original layout, multiplied with a runtime row count).
  dnnl::memory::desc wdesc;
  bool plain = false;
  MappedBuffer<char> wdata;
  // S8 where oneDNN has no packed int8 kernel (AVX2): wdata holds panels of 16 columns, [⌈K/4⌉][16][4]
  // bytes each, for linear_s8_panels_cpu.cc.
  bool s8_panels = false;
  // S8: per output channel scale [N] and 128·Σ_k q[n, k] [N] (the u8 zero point's share).
  std::vector<float> scale;
  std::vector<int32_t> comp;
};

namespace detail {

dnnl::engine& engine();
dnnl::stream& stream();   // one per calling thread
bool has_isa(dnnl::cpu_isa want);

// A oneDNN matmul. rows: a fixed row count (blocked weights), or 0 for a runtime row count over [K, N] weights
// with strides {1, K}. `wdesc` is the blocked weights' layout (ignored when rows == 0).
struct Key {
  int type;
  int64_t K, N, rows;
  bool bias;
  int act;
  bool accumulate;
  bool bf16_out = false;   // dst bf16 (else f32; s32 for int8)
  bool operator==(const Key& o) const {
    return std::tie(type, K, N, rows, bias, act, accumulate, bf16_out) ==
           std::tie(o.type, o.K, o.N, o.rows, o.bias, o.act, o.accumulate, o.bf16_out);
  }
};
dnnl::matmul::primitive_desc make_pd(const Key& key, const dnnl::memory::desc& wdesc);

template <class T>
T* scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// The calling thread's scratch for activations in the products' formats, shared by every product
// (linear and feed_forward) so that the same memory serves layer after layer: with a separate
// set for feed_forward, the int8 QKV product measured up to 30% slower in one comparison.
struct Scratch {
  std::vector<uint8_t> q, q2;      // u8 rows
  std::vector<float> s, s2;        // their scales
  std::vector<int32_t> acc;        // s32 sums
  std::vector<uint16_t> bf16;      // bf16 rows
  std::vector<float> rounded;      // bf16-rounded fp32 rows (emulated bf16)
};
Scratch& thread_scratch();
// x [M, K] rounded to bf16 (nearest even) in the thread's scratch (valid until its next use).
const uint16_t* to_bf16_rows(const float* x, int64_t M, int64_t K);

// linear_cpu.cc: fp32 / bf16 through oneDNN (x in the products' type: fp32 or bf16 rows); with
// bf16_out, y is bf16 rows (needs fuses_activation(act)).
void linear_onednn(const PackedLinear& w, const void* x, void* y, int64_t M, Activation act, bool accumulate,
                   bool bf16_out = false);
bool fuses_activation(Activation act);   // oneDNN applies it as a post-op (or it is Linear)
// int8 in three steps: rows quantized to u8 (scales s[M]; rows M..Mp-1 are padding set to the
// zero point), u8 x s8 -> s32 acc [Mp, N], and one row dequantized (bias, activation, residual).
int64_t s8_padded_rows(const PackedLinear& w, int64_t M);   // Mp
void s8_quantize_rows(const float* x, int64_t M, int64_t K, int64_t Mp, uint8_t* q, float* s);
void s8_product(const PackedLinear& w, const uint8_t* q, int64_t M, int32_t* acc);
void s8_dequantize_row(const PackedLinear& w, const int32_t* acc, float sx, float* y, Activation act, bool accumulate);

// linear_s8_panels_cpu.cc: int8 products where oneDNN 2.6 has no packed kernel (AVX2, AVX-VNNI).
bool s8_panels_ready();   // an x86-64 CPU with AVX2
void pack_s8_panels(PackedLinear& p, const int8_t* q);   // q [N, K] -> p.wdata, sets s8_panels
void unpack_s8_panels(const PackedLinear& p, int8_t* q);   // -> q [N, K] (Model::parameters)
void s8_product_panels(const PackedLinear& w, const uint8_t* q, int64_t M, int32_t* acc);
std::string s8_panels_isa();   // "avx-vnni" or "avx2"

// linear_xsmm_cpu.cc
bool xsmm_ready();   // libxsmm can generate code here (false in a build without it)
void pack_panels(PackedLinear& p, const float* W);
void unpack_panels(const PackedLinear& p, float* W);
void linear_xsmm(const PackedLinear& w, const float* x, float* y, int64_t M, Activation act, bool accumulate);

}  // namespace detail
}  // namespace ernie::kernels

// int8 products (u8 rows × s8 weights -> s32 sums) on x86 CPUs where oneDNN 2.6 has no packed
// int8 kernel: AVX2, with or without AVX-VNNI. oneDNN's int8 matmul there is gemm:jit over plain
// [N, K] weights, which first copies (packs) the whole weight matrix on every call: cheap when
// many rows share the copy, but at batch 1 it moved the int8 weights at about 3 GB/s. Here the
// weights are packed once, at load, into panels of 16 output columns in the operand layout of
// vpmaddubsw / vpdpbusd ([⌈K/4⌉][16][4] bytes: the four consecutive k of each column side by
// side), and each [R rows, 16 columns] tile of sums stays in registers over the whole K, every
// weight read from memory once. Measured against oneDNN's gemm:jit (docs/PERFORMANCE.md): 1.5-1.6x
// at 16 rows, 1.0-1.2x at 64-128, about even from 256 on.
//
// The sums are exact integers: with the 7-bit weights (|w| ≤ 63) the 16-bit pair sums of
// vpmaddubsw stay below 255·63·2 < 2^15, so the result is the same s32 value as oneDNN's (or any
// exact int8 product), whatever the row count or thread count.
#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "ernie/error.h"
#include "kernels/cpu/linear_cpu.h"

namespace ernie::kernels::detail {

namespace {

#if defined(__x86_64__)

constexpr int64_t kCols = 16;   // output columns per panel: two vectors of eight s32 sums

int64_t quads(int64_t K) { return (K + 3) / 4; }

// acc (eight s32 lanes) += u8 (a) · s8 (w), four adjacent products per lane.
template <bool kVnni>
__attribute__((target("avx2"), always_inline)) inline __m256i dot4(__m256i acc, __m256i a, __m256i w) {
  if constexpr (kVnni) {
    // AVX-VNNI's VEX encoding written out: a target("avxvnni") function could not be inlined
    // here, and the AVX2 instances of this code must not contain AVX-VNNI instructions.
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w));
    return acc;
  } else {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, w), _mm256_set1_epi16(1)));
  }
}

// r[j] = the eight 4-byte groups of row j -> r[d] = group d of rows 0..7 (an 8 × 8 transpose of
// 32-bit elements; its own inverse).
__attribute__((target("avx2"), always_inline)) inline void transpose8(__m256i (&r)[8]) {
  __m256i t[8], u[8];
  for (int j = 0; j < 4; ++j) {
    t[2 * j] = _mm256_unpacklo_epi32(r[2 * j], r[2 * j + 1]);       // d0 d0 d1 d1 | d4 d4 d5 d5
    t[2 * j + 1] = _mm256_unpackhi_epi32(r[2 * j], r[2 * j + 1]);   // d2 d2 d3 d3 | d6 d6 d7 d7
  }
  for (int j = 0; j < 2; ++j) {
    u[4 * j + 0] = _mm256_unpacklo_epi64(t[4 * j], t[4 * j + 2]);       // d0 of 4 rows | d4
    u[4 * j + 1] = _mm256_unpackhi_epi64(t[4 * j], t[4 * j + 2]);       // d1 | d5
    u[4 * j + 2] = _mm256_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);   // d2 | d6
    u[4 * j + 3] = _mm256_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);   // d3 | d7
  }
  for (int d = 0; d < 4; ++d) {
    r[d] = _mm256_permute2x128_si256(u[d], u[4 + d], 0x20);
    r[d + 4] = _mm256_permute2x128_si256(u[d], u[4 + d], 0x31);
  }
}

// Between weight rows [0, cols) of W (row stride K) and one panel: byte (k / 4, c, k % 4) of the
// panel is W[c, k]; zero beyond K and beyond cols. to_panel: W -> panel, else panel -> W.
__attribute__((target("avx2"))) void convert_panel(int8_t* W, int64_t K, int64_t cols, int8_t* panel, bool to_panel) {
  const int64_t K32 = K / 32 * 32;
  for (int64_t half = 0; half < 2; ++half) {
    int8_t* row[8];
    for (int j = 0; j < 8; ++j) row[j] = half * 8 + j < cols ? W + (half * 8 + j) * K : nullptr;
    for (int64_t k = 0; k < K32; k += 32) {
      int8_t* p = panel + (k / 4) * kCols * 4 + half * 32;   // quads k/4 .. k/4 + 7
      __m256i r[8];
      for (int j = 0; j < 8; ++j)
        r[j] = !to_panel ? _mm256_load_si256(reinterpret_cast<const __m256i*>(p + j * 64))
               : row[j]  ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[j] + k))
                         : _mm256_setzero_si256();
      transpose8(r);
      for (int j = 0; j < 8; ++j) {
        if (to_panel)
          _mm256_store_si256(reinterpret_cast<__m256i*>(p + j * 64), r[j]);
        else if (row[j])
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row[j] + k), r[j]);
      }
    }
  }
  for (int64_t k = K32; k < quads(K) * 4; ++k)
    for (int64_t c = 0; c < kCols; ++c) {
      int8_t& b = panel[(k / 4) * kCols * 4 + c * 4 + k % 4];
      if (to_panel)
        b = c < cols && k < K ? W[c * K + k] : int8_t{0};
      else if (c < cols && k < K)
        W[c * K + k] = b;
    }
}

// acc[r] += four k of row r (xq[r]) times one k quad of the panel (64 bytes: 16 columns × 4 k).
template <bool kVnni, int R>
__attribute__((target("avx2"), always_inline)) inline void quad(__m256i (&acc)[R][2], const int32_t* xq,
                                                               const int8_t* w) {
  const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 32));
  for (int r = 0; r < R; ++r) {
    const __m256i a = _mm256_set1_epi32(xq[r]);
    acc[r][0] = dot4<kVnni>(acc[r][0], a, w0);
    acc[r][1] = dot4<kVnni>(acc[r][1], a, w1);
  }
}

// 4 rows: the k loop of `block` scheduled by hand. GCC's register allocation added eight moves
// and a spill to each iteration of the intrinsics loop; this one ran 1.27x faster in cache on
// AVX2 (56-58 against 45 GMAC/s on one core; oneDNN's gemm:jit 52-54). With AVX-VNNI each
// product is one {vex} vpdpbusd. i counts up from -4·quads to 0 over row pointers moved to the
// loop's end.
template <bool kVnni>
__attribute__((target("avx2"))) void loop4(const uint8_t* x, int64_t K, const int8_t* panel, int64_t quads_n,
                                           __m256i (&acc)[4][2]) {
  if (quads_n <= 0) return;
  __m256i a0 = acc[0][0], a1 = acc[0][1], a2 = acc[1][0], a3 = acc[1][1], a4 = acc[2][0], a5 = acc[2][1],
          a6 = acc[3][0], a7 = acc[3][1];
  __m256i w0, w1, b;
  const int64_t n = quads_n * 4;
  const uint8_t *x0 = x + n, *x1 = x + K + n, *x2 = x + 2 * K + n, *x3 = x + 3 * K + n;
  const int8_t* w = panel;
  int64_t i = -n;
#define ERNIE_LOAD                \
  "1:\n\t"                        \
  "vmovdqa (%[w]), %[w0]\n\t"     \
  "vmovdqa 32(%[w]), %[w1]\n\t"   \
  "prefetcht0 4096(%[w])\n\t"
#define ERNIE_NEXT       \
  "add $64, %[w]\n\t"    \
  "add $4, %[i]\n\t"     \
  "jnz 1b\n\t"
#define ERNIE_ACC                                                                                                  \
  [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3), [a4] "+x"(a4), [a5] "+x"(a5), [a6] "+x"(a6),         \
      [a7] "+x"(a7), [w0] "=&x"(w0), [w1] "=&x"(w1), [b] "=&x"(b), [w] "+r"(w), [i] "+r"(i)
#define ERNIE_ROWS(ROW) ROW("x0", "a0", "a1") ROW("x1", "a2", "a3") ROW("x2", "a4", "a5") ROW("x3", "a6", "a7")
  if constexpr (kVnni) {
#define ERNIE_ROW(X, A, B)                    \
  "vpbroadcastd (%[" X "],%[i]), %[b]\n\t"    \
  "%{vex%} vpdpbusd %[w0], %[b], %[" A "]\n\t" \
  "%{vex%} vpdpbusd %[w1], %[b], %[" B "]\n\t"
    asm volatile(ERNIE_LOAD ERNIE_ROWS(ERNIE_ROW) ERNIE_NEXT
                 : ERNIE_ACC
                 : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3)
                 : "memory", "cc");
#undef ERNIE_ROW
  } else {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i t;
#define ERNIE_ROW(X, A, B)                 \
  "vpbroadcastd (%[" X "],%[i]), %[b]\n\t" \
  "vpmaddubsw %[w0], %[b], %[t]\n\t"       \
  "vpmaddwd %[ones], %[t], %[t]\n\t"       \
  "vpaddd %[t], %[" A "], %[" A "]\n\t"    \
  "vpmaddubsw %[w1], %[b], %[t]\n\t"       \
  "vpmaddwd %[ones], %[t], %[t]\n\t"       \
  "vpaddd %[t], %[" B "], %[" B "]\n\t"
    asm volatile(ERNIE_LOAD ERNIE_ROWS(ERNIE_ROW) ERNIE_NEXT
                 : ERNIE_ACC, [t] "=&x"(t)
                 : [ones] "x"(ones), [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3)
                 : "memory", "cc");
#undef ERNIE_ROW
  }
#undef ERNIE_LOAD
#undef ERNIE_NEXT
#undef ERNIE_ACC
#undef ERNIE_ROWS
  acc[0][0] = a0, acc[0][1] = a1, acc[1][0] = a2, acc[1][1] = a3;
  acc[2][0] = a4, acc[2][1] = a5, acc[3][0] = a6, acc[3][1] = a7;
}

// y[r, c] = Σ_k x[r, k] · panel[k, c] for r < R rows (x's row stride K) and c < cols ≤ 16 (y's
// row stride ldy).
template <bool kVnni, int R>
__attribute__((target("avx2"))) void block(const uint8_t* x, int64_t K, const int8_t* panel, int32_t* y, int64_t ldy,
                                           int64_t cols) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const int64_t full = K / 4;
  int64_t q0 = 0;
  if constexpr (R == 4) {
    loop4<kVnni>(x, K, panel, full, acc);
    q0 = full;
  }
  for (int64_t q = q0; q < full; ++q) {
    // 4 KiB ahead, on into the next panels (a thread's panels are contiguous): 1.15-1.25x at 1-64
    // rows over the hardware prefetchers alone (2 KiB: less); an L1 hit for all but the first R rows.
    _mm_prefetch(reinterpret_cast<const char*>(panel + q * 64 + 4096), _MM_HINT_T0);
    int32_t xq[R];   // four u8 of each row as one lane value (the compiler broadcasts from memory)
    for (int r = 0; r < R; ++r) std::memcpy(&xq[r], x + r * K + 4 * q, 4);
    quad<kVnni, R>(acc, xq, panel + q * 64);
  }
  if (K % 4) {   // the last k quad: the row's remaining bytes (the panel holds zero weights beyond K)
    int32_t xq[R] = {};
    for (int r = 0; r < R; ++r) std::memcpy(&xq[r], x + r * K + 4 * full, K % 4);
    quad<kVnni, R>(acc, xq, panel + full * 64);
  }
  for (int r = 0; r < R; ++r) {
    if (cols == kCols) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + r * ldy), acc[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + r * ldy + 8), acc[r][1]);
    } else {
      alignas(32) int32_t t[kCols];
      _mm256_store_si256(reinterpret_cast<__m256i*>(t), acc[r][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8), acc[r][1]);
      std::memcpy(y + r * ldy, t, cols * sizeof(int32_t));
    }
  }
}

int64_t panel_bytes(int64_t K) { return quads(K) * kCols * 4; }
int64_t panel_count(int64_t N) { return (N + kCols - 1) / kCols; }

// All M rows against each panel in turn: 4 rows at a time (8 sums, two weight vectors, one
// broadcast and, without VNNI, a temporary and the vector of ones: 13 of the 16 registers; the
// hand-written loop has too few asm operands for 6 rows), then the remaining rows one each.
// Panels are statically split, so each thread streams its own contiguous part of the weights once.
template <bool kVnni>
void product(const PackedLinear& w, const uint8_t* x, int64_t M, int32_t* y) {
  constexpr int R = 4;
  const int64_t K = w.K, N = w.N;
  const int8_t* panels = reinterpret_cast<const int8_t*>(w.wdata.data());
#pragma omp parallel for schedule(static) if (M * N * K > 1 << 18)
  for (int64_t p = 0; p < panel_count(N); ++p) {
    const int8_t* panel = panels + p * panel_bytes(K);
    const int64_t n0 = p * kCols, cols = std::min(kCols, N - n0);
    int64_t m = 0;
    for (; m + R <= M; m += R) block<kVnni, R>(x + m * K, K, panel, y + m * N + n0, N, cols);
    for (; m < M; ++m) block<kVnni, 1>(x + m * K, K, panel, y + m * N + n0, N, cols);
  }
}

#endif  // __x86_64__

}  // namespace

bool s8_panels_ready() {
#if defined(__x86_64__)
  return has_isa(dnnl::cpu_isa::avx2);
#else
  return false;
#endif
}

#if defined(__x86_64__)
void pack_s8_panels(PackedLinear& p, const int8_t* q) {
  const int64_t K = p.K, N = p.N;
  p.wdata.allocate(panel_count(N) * panel_bytes(K));   // 64-byte aligned
  int8_t* out = reinterpret_cast<int8_t*>(p.wdata.data());
#pragma omp parallel for schedule(static) if (N * K > 1 << 16)
  for (int64_t j = 0; j < panel_count(N); ++j)
    convert_panel(const_cast<int8_t*>(q) + j * kCols * K, K, std::min(kCols, N - j * kCols), out + j * panel_bytes(K),
                  /*to_panel=*/true);
  p.s8_panels = true;
}

void unpack_s8_panels(const PackedLinear& p, int8_t* q) {
  const int64_t K = p.K, N = p.N;
  int8_t* in = reinterpret_cast<int8_t*>(p.wdata.data());
#pragma omp parallel for schedule(static) if (N * K > 1 << 16)
  for (int64_t j = 0; j < panel_count(N); ++j)
    convert_panel(q + j * kCols * K, K, std::min(kCols, N - j * kCols), in + j * panel_bytes(K), /*to_panel=*/false);
}

void s8_product_panels(const PackedLinear& w, const uint8_t* q, int64_t M, int32_t* acc) {
  static const bool vnni = has_isa(dnnl::cpu_isa::avx2_vnni);
  if (vnni) return product<true>(w, q, M, acc);
  return product<false>(w, q, M, acc);
}
#else
void pack_s8_panels(PackedLinear&, const int8_t*) { throw Error("internal: int8 panels need x86-64 with AVX2"); }
void unpack_s8_panels(const PackedLinear&, int8_t*) { throw Error("internal: int8 panels need x86-64 with AVX2"); }
void s8_product_panels(const PackedLinear&, const uint8_t*, int64_t, int32_t*) {
  throw Error("internal: int8 panels need x86-64 with AVX2");
}
#endif

std::string s8_panels_isa() { return has_isa(dnnl::cpu_isa::avx2_vnni) ? "avx-vnni" : "avx2"; }

}  // namespace ernie::kernels::detail

// Tensor storage, dtype metadata and the scalar conversions between dtypes.
#include "ernie/tensor.h"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "ernie/error.h"

namespace ernie {

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel())
    throw Error("cannot view " + shape_str(shape_) + " as " + shape_str(shape) + ": element counts differ");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

// ---------------------------------------------------------------------------------------------
// dtypes

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::Bool: return 1;
  }
  throw Error("invalid dtype value " + std::to_string(static_cast<int>(t)));
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

bool dtype_from_name(const std::string& name, DType* out) {
  static constexpr DType kAll[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                                   DType::I32, DType::I16,  DType::I8,  DType::U8,  DType::Bool};
  for (DType t : kAll) {
    if (name == dtype_name(t)) {
      if (out) *out = t;
      return true;
    }
  }
  return false;
}

namespace {
bool is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// shapes

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("negative dimension " + std::to_string(d) + " in shape " + shape_str(s));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error("shape " + shape_str(s) + " has too many elements (overflows int64)");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// construction

Tensor Tensor::empty(DType dtype, Shape shape) {
  const int64_t n = shape_numel(shape);
  const size_t elem = dtype_size(dtype);
  if (static_cast<uint64_t>(n) > std::numeric_limits<size_t>::max() / elem)
    throw Error("tensor of shape " + shape_str(shape) + " and dtype " + dtype_name(dtype) +
                " is too large to allocate");
  // aligned_alloc needs a size that is a multiple of the alignment; allocating at least one
  // block keeps data non-null for empty tensors.
  constexpr size_t kAlign = 64;
  size_t bytes = static_cast<size_t>(n) * elem;
  if (bytes > std::numeric_limits<size_t>::max() - kAlign)
    throw Error("tensor of shape " + shape_str(shape) + " is too large to allocate");
  bytes = bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p)
    throw Error("out of memory allocating " + std::to_string(bytes) + " bytes for a " +
                dtype_name(dtype) + " tensor of shape " + shape_str(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.owner_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  t.data_ = p;
  t.defined_ = true;
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(DType dtype, Shape shape, void* data, std::shared_ptr<const void> owner) {
  shape_numel(shape);  // validates the shape
  if (!data) throw Error("Tensor::borrow: null data pointer");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.owner_ = std::move(owner);
  t.data_ = data;
  t.defined_ = true;
  return t;
}

// ---------------------------------------------------------------------------------------------
// scalar conversions

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN with its payload kept
  } else if (exp != 0) {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half (mant * 2^-24): shift until the implicit bit appears; every half
    // subnormal is a normal float.
    int e = -14;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      --e;
    }
    bits = sign | (static_cast<uint32_t>(e + 127) << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t exp = (x >> 23) & 0xffu;
  const uint32_t mant = x & 0x7fffffu;

  if (exp == 0xff) {
    if (mant == 0) return sign | 0x7c00u;  // infinity
    // NaN: keep the top payload bits, force the quiet bit so it can never become infinity.
    return static_cast<uint16_t>(sign | 0x7e00u | (mant >> 13));
  }
  if (exp == 0) return sign;  // zero or float subnormal (< 2^-126): far below half's range

  const int he = static_cast<int>(exp) - 127 + 15;  // biased half exponent
  if (he >= 0x1f) return sign | 0x7c00u;              // overflow

  if (he >= 1) {
    // Normal half: drop 13 mantissa bits, round to nearest even. A carry out of the
    // mantissa bumps the exponent, which also turns 65520 and above into infinity.
    uint32_t r = (static_cast<uint32_t>(he) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }

  // Subnormal half: value = m * 2^(e-23) with the implicit bit in m; in units of 2^-24 that
  // is m >> (14 - he).
  const uint32_t m = mant | 0x800000u;
  const int shift = 14 - he;
  if (shift > 24) return sign;  // below half the smallest subnormal: rounds to zero
  uint32_t r = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1u))) ++r;  // may carry into the smallest normal
  return static_cast<uint16_t>(sign | r);
}

float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    // NaN: truncation could clear every payload bit and produce infinity; set the quiet bit.
    return static_cast<uint16_t>((x >> 16) | 0x0040u);
  }
  // Round to nearest even; the carry handles exponent bumps and overflow to infinity.
  const uint32_t lsb = (x >> 16) & 1u;
  return static_cast<uint16_t>((x + 0x7fffu + lsb) >> 16);
}

namespace {

// double -> float rounded to odd: truncate toward zero, then set the lowest mantissa bit if
// anything was lost. Rounding that result once more to a format with at least two fewer
// significand bits (half, bfloat16) gives the correctly rounded value, with no double-rounding
// error.
float f64_to_f32_round_odd(double d) {
  if (std::isnan(d) || std::isinf(d)) return static_cast<float>(d);
  // Beyond the float range truncation gives FLT_MAX, whose last bit is already odd. (Casting
  // an out-of-range double to float is undefined behaviour in C++, so never do it.)
  constexpr float kMax = std::numeric_limits<float>::max();
  if (std::fabs(d) > kMax) return std::copysign(kMax, static_cast<float>(d > 0 ? 1 : -1));
  float f = static_cast<float>(d);
  if (static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(f) | 1u);
}

// double -> float, round to nearest even, overflowing to infinity like IEEE conversion.
float f64_to_f32(double d) {
  constexpr double kMax = std::numeric_limits<float>::max();
  // The rounding boundary between FLT_MAX and infinity: FLT_MAX + half an ulp (2^103).
  constexpr double kOverflow = kMax + 0x1p103;
  if (std::isfinite(d) && std::fabs(d) > kMax) {
    if (std::fabs(d) >= kOverflow) return d > 0 ? std::numeric_limits<float>::infinity()
                                                 : -std::numeric_limits<float>::infinity();
    return static_cast<float>(d > 0 ? kMax : -kMax);
  }
  return static_cast<float>(d);
}

// Any float dtype -> double (exact).
double load_float(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F64: return static_cast<const double*>(p)[i];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: break;
  }
  throw Error(std::string("not a floating-point dtype: ") + dtype_name(t));
}

// double -> any float dtype, rounded once to nearest even.
void store_float(void* p, DType t, int64_t i, double v) {
  switch (t) {
    case DType::F32: static_cast<float*>(p)[i] = f64_to_f32(v); return;
    case DType::F64: static_cast<double*>(p)[i] = v; return;
    case DType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(f64_to_f32_round_odd(v)); return;
    case DType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(f64_to_f32_round_odd(v)); return;
    default: break;
  }
  throw Error(std::string("not a floating-point dtype: ") + dtype_name(t));
}

int64_t load_int(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::I64: return static_cast<const int64_t*>(p)[i];
    case DType::I32: return static_cast<const int32_t*>(p)[i];
    case DType::I16: return static_cast<const int16_t*>(p)[i];
    case DType::I8: return static_cast<const int8_t*>(p)[i];
    case DType::U8: return static_cast<const uint8_t*>(p)[i];
    case DType::Bool: return static_cast<const uint8_t*>(p)[i] != 0;
    default: break;
  }
  throw Error(std::string("not an integer dtype: ") + dtype_name(t));
}

template <class T>
void store_checked(void* p, int64_t i, int64_t v, DType t) {
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      v > static_cast<int64_t>(std::numeric_limits<T>::max()))
    throw Error("value " + std::to_string(v) + " at index " + std::to_string(i) +
                " does not fit in " + dtype_name(t));
  static_cast<T*>(p)[i] = static_cast<T>(v);
}

// Integer conversions refuse values the target cannot hold rather than wrapping silently.
void store_int(void* p, DType t, int64_t i, int64_t v) {
  switch (t) {
    case DType::I64: static_cast<int64_t*>(p)[i] = v; return;
    case DType::I32: store_checked<int32_t>(p, i, v, t); return;
    case DType::I16: store_checked<int16_t>(p, i, v, t); return;
    case DType::I8: store_checked<int8_t>(p, i, v, t); return;
    case DType::U8: store_checked<uint8_t>(p, i, v, t); return;
    case DType::Bool: static_cast<uint8_t*>(p)[i] = v != 0; return;
    default: break;
  }
  throw Error(std::string("not an integer dtype: ") + dtype_name(t));
}

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": tensor is undefined");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// tensor conversions

Tensor Tensor::to_f32() const {
  require_defined(*this, "to_f32");
  if (!is_float(dtype_))
    throw Error(std::string("to_f32: cannot convert ") + dtype_name(dtype_) +
                " to F32 (only F32, F16, BF16 and F64 convert)");
  return to(DType::F32);
}

Tensor Tensor::to(DType dtype) const {
  require_defined(*this, "to");
  Tensor out = empty(dtype, shape_);
  const int64_t n = numel();
  if (dtype == dtype_) {
    if (n) std::memcpy(out.data_, data_, nbytes());
    return out;
  }
  if (is_float(dtype_) && is_float(dtype)) {
    if (dtype_ == DType::F16 && dtype == DType::F32) {  // the hot path: a direct loop
      const uint16_t* src = data<uint16_t>();
      float* dst = out.data<float>();
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
    } else if (dtype_ == DType::BF16 && dtype == DType::F32) {
      const uint16_t* src = data<uint16_t>();
      float* dst = out.data<float>();
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
    } else if (dtype_ == DType::F32 && dtype == DType::F16) {
      const float* src = data<float>();
      uint16_t* dst = out.data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
    } else if (dtype_ == DType::F32 && dtype == DType::BF16) {
      const float* src = data<float>();
      uint16_t* dst = out.data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
    } else {
      // Through double: every source value is exact there, and store_float rounds once.
      for (int64_t i = 0; i < n; ++i) store_float(out.data_, dtype, i, load_float(data_, dtype_, i));
    }
    return out;
  }
  if (!is_float(dtype_) && !is_float(dtype)) {
    for (int64_t i = 0; i < n; ++i) store_int(out.data_, dtype, i, load_int(data_, dtype_, i));
    return out;
  }
  throw Error(std::string("cannot convert ") + dtype_name(dtype_) + " to " + dtype_name(dtype) +
              " (conversions are float <-> float or int <-> int)");
}

std::vector<int64_t> Tensor::to_i64() const {
  require_defined(*this, "to_i64");
  if (is_float(dtype_))
    throw Error(std::string("to_i64: cannot convert ") + dtype_name(dtype_) +
                " to integers (an integer dtype is required)");
  const int64_t n = numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = load_int(data_, dtype_, i);
  return out;
}

}  // namespace ernie

// Tensor basics and the f16/bf16 conversions, checked against bit patterns derived from the
// IEEE 754 binary16 definition and the bfloat16 layout (the top half of a binary32).
#include "ernie/tensor.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "ernie/error.h"

namespace ernie {
namespace {

float bits_f(uint32_t b) { return std::bit_cast<float>(b); }
uint32_t f_bits(float f) { return std::bit_cast<uint32_t>(f); }

// ---------------------------------------------------------------------------------------------
// dtypes and shapes

TEST(DType, SizesAndNames) {
  struct Case {
    DType t;
    size_t size;
    const char* name;
  } cases[] = {{DType::F32, 4, "F32"}, {DType::F16, 2, "F16"}, {DType::BF16, 2, "BF16"},
               {DType::F64, 8, "F64"}, {DType::I64, 8, "I64"}, {DType::I32, 4, "I32"},
               {DType::I16, 2, "I16"}, {DType::I8, 1, "I8"},   {DType::U8, 1, "U8"},
               {DType::Bool, 1, "BOOL"}};
  for (const Case& c : cases) {
    EXPECT_EQ(dtype_size(c.t), c.size) << c.name;
    EXPECT_STREQ(dtype_name(c.t), c.name);
    DType back = DType::F32;
    ASSERT_TRUE(dtype_from_name(c.name, &back)) << c.name;
    EXPECT_EQ(back, c.t);
  }
  DType d;
  EXPECT_FALSE(dtype_from_name("f32", &d));  // names are case-sensitive, as in the format
  EXPECT_FALSE(dtype_from_name("F8_E4M3", &d));
  EXPECT_FALSE(dtype_from_name("", &d));
}

TEST(Shape, NumelAndString) {
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({4, 24, 32}), 4 * 24 * 32);
  EXPECT_EQ(shape_numel({3, 0, 5}), 0);
  EXPECT_EQ(shape_str({4, 24, 32}), "[4, 24, 32]");
  EXPECT_EQ(shape_str({}), "[]");
  EXPECT_EQ(shape_str({7}), "[7]");
}

TEST(Shape, NegativeAndOverflowThrow) {
  EXPECT_THROW(shape_numel({2, -1}), Error);
  EXPECT_THROW(shape_numel({int64_t{1} << 32, int64_t{1} << 32}), Error);
  EXPECT_THROW(shape_numel({std::numeric_limits<int64_t>::max(), 2}), Error);
  EXPECT_EQ(shape_numel({std::numeric_limits<int64_t>::max(), 1}), std::numeric_limits<int64_t>::max());
  try {
    shape_numel({2, -3});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("negative"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// construction

TEST(Tensor, DefaultIsUndefined) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW(t.to_f32(), Error);
}

TEST(Tensor, EmptyIsAlignedAndNeverNull) {
  for (Shape s : {Shape{}, Shape{0}, Shape{3, 0}, Shape{1}, Shape{5, 7}, Shape{1000}}) {
    Tensor t = Tensor::empty(DType::F32, s);
    EXPECT_TRUE(t.defined());
    ASSERT_NE(t.raw(), nullptr) << shape_str(s);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u) << shape_str(s);
    EXPECT_EQ(t.shape(), s);
    EXPECT_EQ(t.nbytes(), static_cast<size_t>(shape_numel(s)) * 4);
  }
  EXPECT_THROW(Tensor::empty(DType::F32, {-1}), Error);
}

TEST(Tensor, ZerosAndAccessors) {
  Tensor t = Tensor::zeros(DType::I32, {2, 3, 4});
  EXPECT_EQ(t.rank(), 3);
  EXPECT_EQ(t.dim(0), 2);
  EXPECT_EQ(t.dim(-1), 4);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 96u);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(t.data<int32_t>()[i], 0);
}

TEST(Tensor, CopiesShareStorage) {
  Tensor a = Tensor::zeros(DType::F32, {4});
  Tensor b = a;
  b.data<float>()[2] = 5.0f;
  EXPECT_EQ(a.data<float>()[2], 5.0f);
}

TEST(Tensor, BorrowKeepsOwnerAlive) {
  auto buf = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  std::weak_ptr<std::vector<float>> weak = buf;
  Tensor t = Tensor::borrow(DType::F32, {2, 3}, buf->data(), buf);
  buf.reset();
  EXPECT_FALSE(weak.expired());  // the tensor holds the owner
  EXPECT_EQ(t.data<float>()[5], 6.0f);
  EXPECT_TRUE(t.defined());
  t = Tensor();
  EXPECT_TRUE(weak.expired());
}

// ---------------------------------------------------------------------------------------------
// half precision (binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits

TEST(F16, KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(0.5f), 0x3800);
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);                 // largest finite half
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);    // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);    // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03FF); // largest subnormal
  EXPECT_EQ(f32_to_f16(0.333251953125f), 0x3555);          // 1365/4096, exact in half

  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f_bits(f16_to_f32(0x8000)), 0x80000000u);  // -0 keeps its sign
}

TEST(F16, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1.0 (0x3C00, even) and 1 + 2^-10 (0x3C01): goes to even.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // 1 + 3*2^-11 is halfway between 0x3C01 (odd) and 0x3C02 (even).
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  // Just above and below the halfway point.
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3C01);
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 0.0f)), 0x3C00);
  // Overflow: 65520 is halfway between 65504 and 2^16 (infinity): ties to even -> infinity.
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-65520.0f), 0xFC00);
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  // Subnormal rounding: 2^-25 is halfway between 0 and 2^-24: ties to even -> 0.
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -26)), 0x0001);  // 0.75 * 2^-24: rounds up
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 * 2^-24: tie -> 2 (even)
  EXPECT_EQ(f32_to_f16(std::ldexp(5.0f, -25)), 0x0002);  // 2.5 * 2^-24: tie -> 2 (even)
  // Largest subnormal + half an ulp rounds up into the smallest normal.
  EXPECT_EQ(f32_to_f16(std::ldexp(2047.0f, -25)), 0x0400);
  // Tiny floats and float subnormals flush to signed zero.
  EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);
  EXPECT_EQ(f32_to_f16(bits_f(0x00000001)), 0x0000);
  EXPECT_EQ(f32_to_f16(bits_f(0x80000001)), 0x8000);
}

TEST(F16, InfAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_f16(inf), 0x7C00);
  EXPECT_EQ(f32_to_f16(-inf), 0xFC00);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_LT(f16_to_f32(0xFC00), 0.0f);
  // NaN stays NaN: exponent all ones and a non-zero mantissa, including a signalling NaN
  // whose payload sits only in the low bits that a truncation would drop.
  for (uint32_t nan_bits : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu}) {
    const uint16_t h = f32_to_f16(bits_f(nan_bits));
    EXPECT_EQ(h & 0x7C00, 0x7C00) << std::hex << nan_bits;
    EXPECT_NE(h & 0x03FF, 0) << std::hex << nan_bits;
    EXPECT_EQ(h & 0x8000, (nan_bits >> 16) & 0x8000) << "sign kept";
  }
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0xFFFF)));
}

TEST(F16, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF)) << h;
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(F16, MatchesExactRoundingOnAGrid) {
  // Reference: pick the nearer neighbour among representable halves, ties to the even one.
  // Positive finite halves are ordered like their bit patterns.
  for (uint32_t h = 0; h < 0x7BFF; h += 7) {
    const double lo = f16_to_f32(static_cast<uint16_t>(h));
    const double hi = f16_to_f32(static_cast<uint16_t>(h + 1));
    for (double t : {0.1, 0.25, 0.5, 0.75, 0.9}) {
      const float x = static_cast<float>(lo + (hi - lo) * t);
      const double dx = x;  // the float actually converted
      uint16_t want;
      if (dx - lo < hi - dx) want = static_cast<uint16_t>(h);
      else if (dx - lo > hi - dx) want = static_cast<uint16_t>(h + 1);
      else want = static_cast<uint16_t>((h & 1) ? h + 1 : h);
      ASSERT_EQ(f32_to_f16(x), want) << "h=" << h << " t=" << t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// bfloat16: the top 16 bits of a binary32

TEST(BF16, KnownValues) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(3.140625f), 0x4049);  // exactly representable
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(bf16_to_f32(0x7F7F), bits_f(0x7F7F0000u));  // largest finite bfloat16
  EXPECT_EQ(bf16_to_f32(0x0001), bits_f(0x00010000u));  // a subnormal
}

TEST(BF16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(bits_f(0x3F808000u)), 0x3F80);  // tie, 0x3F80 even
  EXPECT_EQ(f32_to_bf16(bits_f(0x3F818000u)), 0x3F82);  // tie, 0x3F81 odd -> up
  EXPECT_EQ(f32_to_bf16(bits_f(0x3F808001u)), 0x3F81);  // above the tie
  EXPECT_EQ(f32_to_bf16(bits_f(0x3F807FFFu)), 0x3F80);  // below the tie
  EXPECT_EQ(f32_to_bf16(bits_f(0x7F7F7FFFu)), 0x7F7F);  // stays finite
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to infinity
  EXPECT_EQ(f32_to_bf16(bits_f(0x00018000u)), 0x0002);  // subnormal tie -> even
  EXPECT_EQ(f32_to_bf16(bits_f(0x00008000u)), 0x0000);  // half the smallest subnormal -> 0
  EXPECT_EQ(f32_to_bf16(bits_f(0x807FFFFFu)), 0x8080);  // carries into the smallest normal
}

TEST(BF16, InfAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_bf16(inf), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-inf), 0xFF80);
  EXPECT_EQ(f32_to_bf16(bits_f(0x7FC00000u)), 0x7FC0);
  // Signalling NaNs with only low payload bits must not truncate (or round) to infinity.
  for (uint32_t nan_bits : {0x7F800001u, 0xFF800001u, 0x7FFFFFFFu, 0x7F80FFFFu}) {
    const uint16_t b = f32_to_bf16(bits_f(nan_bits));
    EXPECT_TRUE(std::isnan(bf16_to_f32(b))) << std::hex << nan_bits << " -> " << b;
    EXPECT_EQ(b & 0x8000, (nan_bits >> 16) & 0x8000);
  }
}

TEST(BF16, EveryValueRoundTripsExactly) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_bf16(f), h) << "bf16 0x" << std::hex << h;
  }
}

// ---------------------------------------------------------------------------------------------
// tensor conversions

TEST(Convert, ToF32FromEveryFloatDtype) {
  const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24)};
  Tensor f32 = Tensor::empty(DType::F32, {5});
  std::memcpy(f32.raw(), vals, sizeof vals);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
    Tensor x = f32.to(t);
    EXPECT_EQ(x.dtype(), t);
    EXPECT_EQ(x.shape(), Shape{5});
    Tensor back = x.to_f32();
    ASSERT_EQ(back.dtype(), DType::F32);
    for (int i = 0; i < 5; ++i) {
      float want = vals[i];
      if (t == DType::BF16) want = bf16_to_f32(f32_to_bf16(vals[i]));
      EXPECT_EQ(back.data<float>()[i], want) << dtype_name(t) << " " << i;
    }
  }
  EXPECT_EQ(f32.to(DType::F16).data<uint16_t>()[1], 0x3C00);
  EXPECT_EQ(f32.to(DType::BF16).data<uint16_t>()[1], 0x3F80);
  EXPECT_EQ(f32.to(DType::F64).data<double>()[2], -2.5);
}

TEST(Convert, F64ToHalfRoundsOnce) {
  Tensor d = Tensor::empty(DType::F64, {4});
  // 1 + 2^-11 + 2^-40: just above a half tie. Rounding to float first would land exactly on
  // the tie and then go down to 1.0; a single correct rounding goes up.
  d.data<double>()[0] = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  d.data<double>()[1] = 1.0 + std::ldexp(1.0, -11);  // an exact tie: down to even
  d.data<double>()[2] = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);  // bf16 analogue
  d.data<double>()[3] = 1e300;                                            // overflow
  Tensor h = d.to(DType::F16);
  EXPECT_EQ(h.data<uint16_t>()[0], 0x3C01);
  EXPECT_EQ(h.data<uint16_t>()[1], 0x3C00);
  EXPECT_EQ(h.data<uint16_t>()[3], 0x7C00);
  Tensor b = d.to(DType::BF16);
  EXPECT_EQ(b.data<uint16_t>()[2], 0x3F81);  // 1 + 2^-8 + tiny: above the bf16 tie
  EXPECT_EQ(b.data<uint16_t>()[3], 0x7F80);
  Tensor f = d.to(DType::F32);
  EXPECT_TRUE(std::isinf(f.data<float>()[3]));
}

TEST(Convert, IntegerConversions) {
  Tensor a = Tensor::empty(DType::I64, {5});
  const int64_t vals[] = {0, 1, -1, 127, 300};
  std::memcpy(a.raw(), vals, sizeof vals);
  Tensor i32 = a.to(DType::I32);
  EXPECT_EQ(i32.data<int32_t>()[4], 300);
  EXPECT_EQ(i32.data<int32_t>()[2], -1);
  EXPECT_EQ(i32.to_i64(), std::vector<int64_t>(vals, vals + 5));
  EXPECT_EQ(a.to(DType::I16).to_i64(), std::vector<int64_t>(vals, vals + 5));
  Tensor b = a.to(DType::Bool);
  EXPECT_EQ(b.to_i64(), (std::vector<int64_t>{0, 1, 1, 1, 1}));
  // Out-of-range values are refused instead of wrapping.
  EXPECT_THROW(a.to(DType::I8), Error);   // 300
  EXPECT_THROW(a.to(DType::U8), Error);   // -1
  Tensor small = Tensor::empty(DType::I8, {2});
  small.data<int8_t>()[0] = -128;
  small.data<int8_t>()[1] = 127;
  EXPECT_EQ(small.to_i64(), (std::vector<int64_t>{-128, 127}));
  EXPECT_EQ(small.to(DType::I64).data<int64_t>()[0], -128);
  Tensor u = Tensor::empty(DType::U8, {1});
  u.data<uint8_t>()[0] = 255;
  EXPECT_EQ(u.to_i64(), std::vector<int64_t>{255});
  EXPECT_EQ(u.to(DType::I16).data<int16_t>()[0], 255);
}

TEST(Convert, MixedKindsThrow) {
  Tensor f = Tensor::zeros(DType::F32, {2});
  Tensor i = Tensor::zeros(DType::I32, {2});
  EXPECT_THROW(f.to(DType::I64), Error);
  EXPECT_THROW(i.to(DType::F32), Error);
  EXPECT_THROW(i.to_f32(), Error);
  EXPECT_THROW(f.to_i64(), Error);
}

TEST(Convert, SameDtypeIsADeepCopy) {
  Tensor a = Tensor::zeros(DType::F32, {3});
  Tensor b = a.to(DType::F32);
  b.data<float>()[0] = 1.0f;
  EXPECT_EQ(a.data<float>()[0], 0.0f);
  EXPECT_NE(a.raw(), b.raw());
}

TEST(Convert, EmptyTensors) {
  Tensor e = Tensor::empty(DType::F16, {0, 4});
  Tensor f = e.to_f32();
  EXPECT_EQ(f.numel(), 0);
  EXPECT_EQ(f.shape(), (Shape{0, 4}));
  EXPECT_TRUE(Tensor::empty(DType::I32, {0}).to_i64().empty());
}

}  // namespace
}  // namespace ernie

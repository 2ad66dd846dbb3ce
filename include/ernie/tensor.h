// A small tensor: dtype, shape and a pointer into storage that is either owned (64-byte
// aligned heap) or borrowed (e.g. a memory-mapped checkpoint kept alive by `owner`).
// Row-major, contiguous. Device is CPU for now; the type is where a device tag will go.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ernie {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

size_t dtype_size(DType t);
const char* dtype_name(DType t);              // safetensors spelling: "F32", "BF16", ...
bool dtype_from_name(const std::string& name, DType* out);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);        // "[4, 24, 32]"

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(DType dtype, Shape shape);             // owned, uninitialized
  static Tensor zeros(DType dtype, Shape shape);
  static Tensor borrow(DType dtype, Shape shape, void* data, std::shared_ptr<const void> owner);

  bool defined() const { return defined_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <class T> T* data() { return static_cast<T*>(data_); }
  template <class T> const T* data() const { return static_cast<const T*>(data_); }

  // Converting copies; throw ernie::Error for dtypes that cannot be converted.
  // The same storage under another shape with as many elements (throws otherwise).
  Tensor reshaped(Shape shape) const;
  Tensor to_f32() const;                      // from F32/F16/BF16/F64
  Tensor to(DType dtype) const;               // float <-> float, int <-> int
  std::vector<int64_t> to_i64() const;        // from any integer dtype

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<const void> owner_;
  void* data_ = nullptr;
  bool defined_ = false;
};

// IEEE half and bfloat16 conversions (round to nearest even).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace ernie

// A restricted unpickler shared by PaddleNLP .pdparams and PyTorch .bin (data.pkl).
//
// It executes no Python and constructs no general objects: GLOBAL/STACK_GLOBAL names are checked
// against an allowlist the moment they are read (before any argument is built or any call is
// made), and the few allowed callables (numpy array/dtype reconstruction, _codecs.encode,
// OrderedDict, torch's _rebuild_tensor_v2/_rebuild_parameter) are interpreted here into plain
// values. Every length is checked against the bytes left, every stack/memo access against its
// size, and the opcode count, stack, memo, nesting depth and memory it may use are bounded.
// Values live in an arena owned by the Unpickler, so cyclic or deeply nested inputs cannot leak
// or overflow the C++ stack on destruction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkpoint/formats.h"
#include "ernie/checkpoint.h"
#include "ernie/tensor.h"

namespace ernie::pickle {

enum class Kind {
  None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Set, Global,
  Dtype,          // numpy.dtype
  NdArray,        // numpy.ndarray (from _reconstruct + BUILD, or _frombuffer)
  TorchStorage,   // persistent id ('storage', torch.XStorage, key, location, numel)
  TorchTensor,    // _rebuild_tensor_v2(storage, offset, size, stride, ...)
};
const char* kind_name(Kind k);

struct Value {
  Kind kind = Kind::None;
  int depth = 0;                  // container nesting (0 for scalars)
  bool b = false;
  int64_t i = 0;
  double f = 0;
  // Str (UTF-8 as stored) and Bytes: a view into the input or into `owned`.
  const uint8_t* data = nullptr;
  size_t len = 0;
  std::string owned;
  std::vector<Value*> items;      // Tuple, List, Set; Dict: key, value, key, value, ...
  std::string module, name;       // Global

  // Dtype / NdArray / TorchStorage
  std::string typestr;            // numpy: "f4" (Dtype); NdArray: resolved through `dtype`
  char byteorder = '|';
  Value* dtype = nullptr;         // NdArray: its Dtype value
  std::vector<int64_t> shape;     // NdArray / TorchTensor size
  std::vector<int64_t> stride;    // TorchTensor
  int64_t offset = 0;             // TorchTensor storage offset (elements)
  Value* raw = nullptr;           // NdArray: Bytes with the data; TorchTensor: its TorchStorage
  bool built = false;             // NdArray: state set
  bool fortran = false;
  DType storage_dtype = DType::F32;   // TorchStorage
  int64_t numel = 0;                  // TorchStorage elements

  std::string str() const { return std::string(reinterpret_cast<const char*>(data), len); }
};

struct Result {
  Value* root = nullptr;
  int protocol = 0;
  std::vector<std::string> globals;   // allowed globals the file used, in first-use order
};

class Unpickler {
 public:
  // `data` must outlive the Unpickler and every Value it returns.
  Unpickler(const uint8_t* data, size_t size, std::string what, const ReadLimits& limits);
  Result load();

 private:
  Value* make(Kind k);
  void charge(size_t bytes);
  [[noreturn]] void fail(const std::string& problem) const;
  // pickle_objects.cc: containers, the allowed globals and what they build.
  Value* container(Kind k, std::vector<Value*> items);
  void add_items(Value* c, const std::vector<Value*>& items);
  int64_t int_of(const Value* v, const char* what) const;
  std::string text_of(const Value* v, const char* what) const;
  std::vector<int64_t> shape_of(const Value* v, const char* what) const;
  Value* resolve_global(const std::string& module, const std::string& name);   // refuses what is not allowed
  Value* call(Value* fn, Value* args);           // REDUCE
  void build(Value* obj, Value* state);          // BUILD
  Value* persistent(Value* pid);                 // BINPERSID: a torch storage

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string what_;
  ReadLimits limits_;
  size_t budget_;     // bytes of values it may allocate
  size_t used_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;
  Value none_, true_, false_;
  std::vector<std::string> globals_seen_;   // allowed globals used, in first-use order
};

// One UTF-8 code point at p[*i] (advancing *i); false on malformed input.
bool utf8_next(const uint8_t* p, size_t n, size_t* i, uint32_t* out);

// numpy dtype string ("f4", "<f4", "|b1") -> DType; false if not a supported dtype.
bool numpy_dtype(const std::string& typestr, char byteorder, DType* out, std::string* problem);

// An NdArray value as a Tensor (copied, C order).
Tensor ndarray_to_tensor(const Value& v, const std::string& what, const std::string& name, const ReadLimits& limits);

using checkpoint::printable;

}  // namespace ernie::pickle

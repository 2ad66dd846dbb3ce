// What the allowed globals of a pickle build (see pickle.h): the allowlist, numpy arrays, dtypes
// and scalars, torch storages and tensors, OrderedDict, _codecs.encode; the values they take are
// checked here, as they are built.
#include <algorithm>
#include <cctype>
#include <cstring>

#include "checkpoint/pickle.h"
#include "ernie/error.h"

namespace ernie::pickle {

namespace {

// The globals a checkpoint may name. Everything else is refused when it is read.
enum class Callable {
  NumpyReconstruct, NumpyNdarray, NumpyDtype, NumpyScalar, NumpyFromBuffer, CodecsEncode, OrderedDict,
  TorchRebuildTensorV2, TorchRebuildParameter, TorchStorageType,
};

struct Allowed {
  const char* module;
  const char* name;
  Callable what;
};

constexpr Allowed kAllowed[] = {
    {"numpy.core.multiarray", "_reconstruct", Callable::NumpyReconstruct},
    {"numpy._core.multiarray", "_reconstruct", Callable::NumpyReconstruct},
    {"numpy", "ndarray", Callable::NumpyNdarray},
    {"numpy", "dtype", Callable::NumpyDtype},
    {"numpy.core.multiarray", "scalar", Callable::NumpyScalar},
    {"numpy._core.multiarray", "scalar", Callable::NumpyScalar},
    {"numpy.core.numeric", "_frombuffer", Callable::NumpyFromBuffer},
    {"numpy._core.numeric", "_frombuffer", Callable::NumpyFromBuffer},
    {"_codecs", "encode", Callable::CodecsEncode},
    {"collections", "OrderedDict", Callable::OrderedDict},
    {"torch._utils", "_rebuild_tensor_v2", Callable::TorchRebuildTensorV2},
    {"torch._utils", "_rebuild_parameter", Callable::TorchRebuildParameter},
};

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorages[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16},  {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8},   {"ByteStorage", DType::U8},
    {"BoolStorage", DType::Bool},
};

bool lookup_global(const std::string& module, const std::string& name, Callable* out) {
  for (const auto& a : kAllowed)
    if (module == a.module && name == a.name) {
      *out = a.what;
      return true;
    }
  if (module == "torch")
    for (const auto& s : kStorages)
      if (name == s.name) {
        *out = Callable::TorchStorageType;
        return true;
      }
  return false;
}

bool storage_dtype(const std::string& name, DType* out) {
  for (const auto& s : kStorages)
    if (name == s.name) {
      *out = s.dtype;
      return true;
    }
  return false;
}

Callable global_of(const Value* g) {
  Callable c;
  lookup_global(g->module, g->name, &c);   // allowed when it was read
  return c;
}

}  // namespace

// One UTF-8 code point at p[*i]; false on malformed input.
bool utf8_next(const uint8_t* p, size_t n, size_t* i, uint32_t* out) {
  const uint8_t c = p[*i];
  uint32_t cp;
  size_t extra;
  if (c < 0x80) { cp = c; extra = 0; }
  else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; extra = 1; }
  else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; extra = 2; }
  else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; extra = 3; }
  else return false;
  if (*i + extra >= n) return false;
  for (size_t k = 1; k <= extra; ++k) {
    if ((p[*i + k] & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (p[*i + k] & 0x3f);
  }
  *out = cp;
  *i += extra + 1;
  return true;
}

bool numpy_dtype(const std::string& typestr_in, char byteorder, DType* out, std::string* problem) {
  std::string t = typestr_in;
  char order = byteorder;
  if (!t.empty() && (t[0] == '<' || t[0] == '>' || t[0] == '|' || t[0] == '=')) {
    order = t[0];
    t = t.substr(1);
  }
  struct M {
    const char* s;
    DType d;
  };
  static const M kMap[] = {{"f4", DType::F32}, {"f2", DType::F16}, {"f8", DType::F64}, {"i8", DType::I64},
                           {"i4", DType::I32}, {"i2", DType::I16}, {"i1", DType::I8},  {"u1", DType::U8},
                           {"b1", DType::Bool}, {"u2", DType::BF16}};   // Paddle keeps bfloat16 as uint16
  for (const auto& m : kMap)
    if (t == m.s) {
      if (order == '>' && dtype_size(m.d) > 1) {
        *problem = "big-endian numpy dtype '>" + t + "' is not supported";
        return false;
      }
      *out = m.d;
      return true;
    }
  *problem = "unsupported numpy dtype '" + printable(typestr_in, 20) + "'";
  return false;
}

Value* Unpickler::container(Kind k, std::vector<Value*> items) {
  Value* v = make(k);
  int depth = 0;
  for (Value* it : items) depth = std::max(depth, it->depth);
  v->depth = depth + 1;
  if (v->depth > limits_.max_depth) fail("pickle nests containers deeper than " + std::to_string(limits_.max_depth));
  charge(items.size() * sizeof(Value*));
  v->items = std::move(items);
  return v;
}

void Unpickler::add_items(Value* c, const std::vector<Value*>& items) {
  int depth = c->depth;
  for (Value* it : items) depth = std::max(depth, it->depth + 1);
  if (depth > limits_.max_depth) fail("pickle nests containers deeper than " + std::to_string(limits_.max_depth));
  c->depth = depth;
  charge(items.size() * sizeof(Value*));
  c->items.insert(c->items.end(), items.begin(), items.end());
}

int64_t Unpickler::int_of(const Value* v, const char* what) const {
  if (v->kind == Kind::Int) return v->i;
  if (v->kind == Kind::Bool) return v->b;
  fail(std::string(what) + " must be an int, got " + kind_name(v->kind));
}

std::string Unpickler::text_of(const Value* v, const char* what) const {
  if (v->kind != Kind::Str && v->kind != Kind::Bytes) fail(std::string(what) + " must be a string, got " + kind_name(v->kind));
  return v->str();
}

std::vector<int64_t> Unpickler::shape_of(const Value* v, const char* what) const {
  if (v->kind != Kind::Tuple && v->kind != Kind::List) fail(std::string(what) + " must be a tuple, got " + kind_name(v->kind));
  if (v->items.size() > 16) fail(std::string(what) + " has more than 16 dimensions");
  std::vector<int64_t> s;
  for (const Value* d : v->items) {
    const int64_t x = int_of(d, what);
    if (x < 0) fail(std::string(what) + " has a negative dimension " + std::to_string(x));
    s.push_back(x);
  }
  return s;
}

Value* Unpickler::resolve_global(const std::string& module, const std::string& name) {
  Callable c;
  const std::string full = printable(module, 80) + "." + printable(name, 80);
  if (!lookup_global(module, name, &c))
    fail("pickle calls a disallowed global " + full +
         " (only numpy arrays, torch tensors and plain containers are accepted)");
  if (std::find(globals_seen_.begin(), globals_seen_.end(), full) == globals_seen_.end()) globals_seen_.push_back(full);
  Value* v = make(Kind::Global);
  v->module = module;
  v->name = name;
  return v;
}

Value* Unpickler::call(Value* fn, Value* args) {
  if (fn->kind != Kind::Global) fail("pickle calls a " + std::string(kind_name(fn->kind)) + ", not an allowed global");
  if (args->kind != Kind::Tuple) fail("pickle calls " + fn->module + "." + fn->name + " with non-tuple arguments");
  const auto& a = args->items;
  const std::string fname = fn->module + "." + fn->name;
  auto nargs = [&](size_t lo, size_t hi) {
    if (a.size() < lo || a.size() > hi)
      fail(fname + " called with " + std::to_string(a.size()) + " arguments");
  };
  switch (global_of(fn)) {
    case Callable::NumpyReconstruct: {
      nargs(3, 3);
      if (a[0]->kind != Kind::Global || global_of(a[0]) != Callable::NumpyNdarray)
        fail(fname + " may only rebuild numpy.ndarray");
      Value* v = make(Kind::NdArray);
      return v;
    }
    case Callable::NumpyDtype: {
      nargs(1, 3);
      Value* v = make(Kind::Dtype);
      v->typestr = text_of(a[0], "numpy dtype name");
      if (v->typestr.size() > 16) fail("numpy dtype name is too long");
      return v;
    }
    case Callable::NumpyFromBuffer: {   // protocol 5: _frombuffer(buffer, dtype, shape, order)
      nargs(4, 4);
      if (a[0]->kind != Kind::Bytes) fail(fname + " needs a bytes buffer, got " + kind_name(a[0]->kind));
      if (a[1]->kind != Kind::Dtype) fail(fname + " needs a numpy dtype, got " + kind_name(a[1]->kind));
      Value* v = make(Kind::NdArray);
      v->raw = a[0];
      v->dtype = a[1];
      v->shape = shape_of(a[2], "array shape");
      v->fortran = text_of(a[3], "array order") == "F";
      v->built = true;
      return v;
    }
    case Callable::NumpyScalar: {   // scalar(dtype, bytes) -> a Python number
      nargs(2, 2);
      if (a[0]->kind != Kind::Dtype || a[1]->kind != Kind::Bytes) fail(fname + " needs (dtype, bytes)");
      DType d;
      std::string problem;
      if (!numpy_dtype(a[0]->typestr, a[0]->byteorder, &d, &problem)) fail(problem);
      if (a[1]->len != dtype_size(d)) fail(fname + ": " + std::to_string(a[1]->len) + " bytes for a " + dtype_name(d));
      Tensor t = Tensor::empty(d, {});
      std::memcpy(t.raw(), a[1]->data, a[1]->len);
      Value* v;
      if (d == DType::F32 || d == DType::F64 || d == DType::F16) {
        v = make(Kind::Float);
        v->f = d == DType::F64 ? t.data<double>()[0] : t.to_f32().data<float>()[0];
      } else if (d == DType::BF16) {
        v = make(Kind::Int);
        v->i = t.data<uint16_t>()[0];
      } else {
        v = make(Kind::Int);
        v->i = t.to_i64()[0];
      }
      return v;
    }
    case Callable::CodecsEncode: {   // protocol 2 bytes: _codecs.encode(text, 'latin1')
      nargs(1, 2);
      if (a[0]->kind != Kind::Str) fail(fname + " needs a string");
      const std::string enc = a.size() > 1 ? text_of(a[1], "encoding") : "utf-8";
      Value* v = make(Kind::Bytes);
      if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1") {
        charge(a[0]->len);
        v->owned.reserve(a[0]->len);
        uint32_t cp;
        for (size_t i = 0; i < a[0]->len;) {
          if (!utf8_next(a[0]->data, a[0]->len, &i, &cp)) fail("pickle string is not valid UTF-8");
          if (cp > 0xff) fail(fname + ": character U+" + std::to_string(cp) + " is not latin1");
          v->owned.push_back(static_cast<char>(cp));
        }
      } else if (enc == "utf-8" || enc == "utf8") {
        charge(a[0]->len);
        v->owned = a[0]->str();
      } else {
        fail(fname + ": unsupported encoding '" + printable(enc, 20) + "'");
      }
      v->data = reinterpret_cast<const uint8_t*>(v->owned.data());
      v->len = v->owned.size();
      return v;
    }
    case Callable::OrderedDict: {
      nargs(0, 1);
      Value* d = container(Kind::Dict, {});
      if (a.size() == 1) {
        if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple) fail(fname + " needs a list of pairs");
        for (Value* p : a[0]->items) {
          if ((p->kind != Kind::Tuple && p->kind != Kind::List) || p->items.size() != 2) fail(fname + " needs pairs");
          add_items(d, p->items);
        }
      }
      return d;
    }
    case Callable::TorchRebuildTensorV2: {   // (storage, offset, size, stride, requires_grad, hooks[, metadata])
      nargs(6, 7);
      if (a[0]->kind != Kind::TorchStorage) fail(fname + " needs a storage, got " + kind_name(a[0]->kind));
      Value* v = make(Kind::TorchTensor);
      v->raw = a[0];
      v->offset = int_of(a[1], "storage offset");
      if (v->offset < 0) fail("negative storage offset");
      v->shape = shape_of(a[2], "tensor size");
      v->stride = shape_of(a[3], "tensor stride");
      if (v->shape.size() != v->stride.size()) fail("tensor size and stride have different lengths");
      return v;
    }
    case Callable::TorchRebuildParameter: {   // (tensor, requires_grad, hooks)
      nargs(3, 3);
      if (a[0]->kind != Kind::TorchTensor) fail(fname + " needs a tensor, got " + kind_name(a[0]->kind));
      return a[0];
    }
    case Callable::NumpyNdarray:
    case Callable::TorchStorageType:
      break;
  }
  fail("pickle calls " + fname + ", which is allowed only as an argument");
}

// numpy arrays and dtypes get their state; OrderedDict attributes (torch's _metadata) are ignored.
void Unpickler::build(Value* obj, Value* state) {
  if (obj->kind == Kind::NdArray && !obj->built) {   // (version, shape, dtype, is_fortran, rawdata)
    if (state->kind != Kind::Tuple || state->items.size() != 5) fail("numpy array state must be a 5-tuple");
    const auto& s = state->items;
    obj->shape = shape_of(s[1], "array shape");
    if (s[2]->kind != Kind::Dtype) fail("numpy array state has no dtype");
    obj->dtype = s[2];
    obj->fortran = s[3]->kind == Kind::Bool && s[3]->b;
    if (s[4]->kind != Kind::Bytes)
      fail("numpy array data must be bytes, got " + std::string(kind_name(s[4]->kind)) + " (object arrays are refused)");
    obj->raw = s[4];
    obj->built = true;
  } else if (obj->kind == Kind::Dtype) {   // (version, byteorder, ...)
    if (state->kind != Kind::Tuple || state->items.size() < 2) fail("numpy dtype state must be a tuple");
    const std::string order = text_of(state->items[1], "dtype byte order");
    obj->byteorder = order.empty() ? '|' : order[0];
  } else if (obj->kind == Kind::Dict) {
    // OrderedDict attributes (torch's _metadata): not needed.
  } else {
    fail("BUILD on a " + std::string(kind_name(obj->kind)) + " is not allowed");
  }
}

// torch's persistent id: ('storage', torch.XStorage, key, location, numel).
Value* Unpickler::persistent(Value* pid) {
  if (pid->kind != Kind::Tuple || pid->items.size() != 5) fail("persistent id must be a 5-tuple (torch storage)");
  const auto& s = pid->items;
  if (text_of(s[0], "persistent id tag") != "storage") fail("persistent id is not a torch storage");
  if (s[1]->kind != Kind::Global || s[1]->module != "torch") fail("persistent id names no torch storage type");
  Value* v = make(Kind::TorchStorage);
  if (!storage_dtype(s[1]->name, &v->storage_dtype)) fail("unsupported storage type torch." + printable(s[1]->name));
  v->typestr = text_of(s[2], "storage key");
  if (v->typestr.empty() || v->typestr.size() > 64) fail("storage key has a bad length");
  for (char c : v->typestr)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') fail("storage key '" + printable(v->typestr) + "' is not a plain name");
  v->numel = int_of(s[4], "storage size");
  if (v->numel < 0) fail("negative storage size");
  return v;
}

Tensor ndarray_to_tensor(const Value& v, const std::string& what, const std::string& name, const ReadLimits& limits) {
  auto fail = [&](const std::string& problem) -> void {
    throw Error(what + ": array '" + printable(name) + "': " + problem);
  };
  if (!v.built || !v.dtype || !v.raw) fail("numpy array was never given its data");
  DType d;
  std::string problem;
  if (!numpy_dtype(v.dtype->typestr, v.dtype->byteorder, &d, &problem)) fail(problem);
  uint64_t numel = 1;
  for (int64_t s : v.shape) {
    if (s != 0 && numel > limits.max_tensor_bytes / static_cast<uint64_t>(s)) fail("shape " + shape_str(v.shape) + " is too large");
    numel *= static_cast<uint64_t>(s);
  }
  const uint64_t bytes = numel * dtype_size(d);
  if (bytes > limits.max_tensor_bytes) fail("shape " + shape_str(v.shape) + " is too large");
  if (v.raw->len != bytes)
    fail("shape " + shape_str(v.shape) + " " + dtype_name(d) + " needs " + std::to_string(bytes) + " bytes but the data has " +
         std::to_string(v.raw->len));
  if (v.fortran && v.shape.size() > 1) fail("Fortran-ordered arrays are not supported");
  Tensor t = Tensor::empty(d, v.shape);
  if (bytes) std::memcpy(t.raw(), v.raw->data, bytes);
  return t;
}

}  // namespace ernie::pickle

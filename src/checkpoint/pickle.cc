// The restricted unpickler (see pickle.h). Opcodes follow CPython's Lib/pickle.py and
// pickletools; only the binary opcodes that protocols 2-5 emit for dicts of numpy arrays and
// torch state dicts are accepted (plus the protocol-0 PUT/GET/INT forms the pickler still uses).
#include "checkpoint/pickle.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include "ernie/error.h"

namespace ernie::pickle {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::Global: return "global";
    case Kind::Dtype: return "numpy dtype";
    case Kind::NdArray: return "numpy array";
    case Kind::TorchStorage: return "torch storage";
    case Kind::TorchTensor: return "torch tensor";
  }
  return "?";
}


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

// Opcodes (pickletools names).
enum Op : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
  BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
  STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
  BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
  INST = 'i', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q',
  LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
  TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, BINBYTES = 'B',
  SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f,
  ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
  BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};

std::string op_name(uint8_t op) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%02x", op);
  return buf;
}

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

bool utf8_valid(const uint8_t* p, size_t n) {
  uint32_t cp;
  for (size_t i = 0; i < n;)
    if (!utf8_next(p, n, &i, &cp)) return false;
  return true;
}

}  // namespace

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

Unpickler::Unpickler(const uint8_t* data, size_t size, std::string what, const ReadLimits& limits)
    : data_(data), size_(size), what_(std::move(what)), limits_(limits) {
  // Values cost memory beyond the input (a 1-byte NONE opcode is a whole Value): allow a fixed
  // floor plus a multiple of the input, never gigabytes for a small file.
  budget_ = (size_t{64} << 20) + size * 8;
  none_.kind = Kind::None;
  true_.kind = Kind::Bool;
  true_.b = true;
  false_.kind = Kind::Bool;
}

void Unpickler::fail(const std::string& problem) const {
  throw Error(what_ + ": " + problem + " (pickle offset " + std::to_string(pos_) + ")");
}

void Unpickler::charge(size_t bytes) {
  used_ += bytes;
  if (used_ > budget_) fail("pickle needs more than " + std::to_string(budget_ >> 20) + " MiB to unpack (refused)");
}

Value* Unpickler::make(Kind k) {
  charge(sizeof(Value) + 16);
  arena_.push_back(std::make_unique<Value>());
  arena_.back()->kind = k;
  return arena_.back().get();
}

Result Unpickler::load() {
  Result result;
  std::vector<Value*> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, Value*> memo;
  std::vector<std::string> globals_seen;
  uint64_t ops = 0;

  auto need = [&](size_t n) -> const uint8_t* {
    if (n > size_ - pos_) fail("truncated pickle: needs " + std::to_string(n) + " more bytes, " +
                               std::to_string(size_ - pos_) + " left");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  };
  auto u8 = [&]() { return *need(1); };
  auto le = [&](int n) -> uint64_t {
    const uint8_t* p = need(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  };
  auto push = [&](Value* v) {
    if (stack.size() >= limits_.max_stack) fail("pickle stack exceeds " + std::to_string(limits_.max_stack) + " values");
    charge(sizeof(Value*));
    stack.push_back(v);
  };
  auto floor = [&]() -> size_t { return marks.empty() ? 0 : marks.back(); };
  auto pop = [&]() -> Value* {
    if (stack.size() <= floor()) fail("pickle stack underflow");
    Value* v = stack.back();
    stack.pop_back();
    return v;
  };
  auto top = [&]() -> Value* {
    if (stack.size() <= floor()) fail("pickle stack underflow");
    return stack.back();
  };
  auto pop_mark = [&]() -> std::vector<Value*> {
    if (marks.empty()) fail("pickle uses a MARK that was never set");
    const size_t m = marks.back();
    marks.pop_back();
    std::vector<Value*> items(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
    stack.resize(m);
    return items;
  };
  auto container = [&](Kind k, std::vector<Value*> items) {
    Value* v = make(k);
    int depth = 0;
    for (Value* it : items) depth = std::max(depth, it->depth);
    v->depth = depth + 1;
    if (v->depth > limits_.max_depth) fail("pickle nests containers deeper than " + std::to_string(limits_.max_depth));
    charge(items.size() * sizeof(Value*));
    v->items = std::move(items);
    return v;
  };
  auto add_items = [&](Value* c, const std::vector<Value*>& items) {
    int depth = c->depth;
    for (Value* it : items) depth = std::max(depth, it->depth + 1);
    if (depth > limits_.max_depth) fail("pickle nests containers deeper than " + std::to_string(limits_.max_depth));
    c->depth = depth;
    charge(items.size() * sizeof(Value*));
    c->items.insert(c->items.end(), items.begin(), items.end());
  };
  auto make_bytes = [&](Kind k, size_t n) {
    if (n > size_ - pos_) fail("truncated pickle: a " + std::string(k == Kind::Str ? "string" : "bytes") + " of " +
                               std::to_string(n) + " bytes but only " + std::to_string(size_ - pos_) + " left");
    Value* v = make(k);
    v->data = need(n);
    v->len = n;
    if (k == Kind::Str) {
      if (!utf8_valid(v->data, n)) fail("pickle string is not valid UTF-8");
    }
    return v;
  };
  auto memo_put = [&](uint64_t idx) {
    if (stack.size() <= floor()) fail("pickle memoizes from an empty stack");
    if (memo.size() >= limits_.max_memo && !memo.count(idx))
      fail("pickle memo exceeds " + std::to_string(limits_.max_memo) + " entries");
    charge(48);
    memo[idx] = stack.back();
  };
  auto memo_get = [&](uint64_t idx) {
    auto it = memo.find(idx);
    if (it == memo.end()) fail("pickle reads memo entry " + std::to_string(idx) + " that was never stored");
    push(it->second);
  };
  auto int_of = [&](const Value* v, const char* what) -> int64_t {
    if (v->kind == Kind::Int) return v->i;
    if (v->kind == Kind::Bool) return v->b;
    fail(std::string(what) + " must be an int, got " + kind_name(v->kind));
  };
  auto text_of = [&](const Value* v, const char* what) -> std::string {
    if (v->kind != Kind::Str && v->kind != Kind::Bytes) fail(std::string(what) + " must be a string, got " + kind_name(v->kind));
    return v->str();
  };
  auto shape_of = [&](const Value* v, const char* what) {
    if (v->kind != Kind::Tuple && v->kind != Kind::List) fail(std::string(what) + " must be a tuple, got " + kind_name(v->kind));
    if (v->items.size() > 16) fail(std::string(what) + " has more than 16 dimensions");
    std::vector<int64_t> s;
    for (const Value* d : v->items) {
      const int64_t x = int_of(d, what);
      if (x < 0) fail(std::string(what) + " has a negative dimension " + std::to_string(x));
      s.push_back(x);
    }
    return s;
  };
  auto resolve_global = [&](const std::string& module, const std::string& name) {
    Callable c;
    const std::string full = printable(module, 80) + "." + printable(name, 80);
    if (!lookup_global(module, name, &c))
      fail("pickle calls a disallowed global " + full +
           " (only numpy arrays, torch tensors and plain containers are accepted)");
    if (std::find(globals_seen.begin(), globals_seen.end(), full) == globals_seen.end()) globals_seen.push_back(full);
    Value* v = make(Kind::Global);
    v->module = module;
    v->name = name;
    return v;
  };
  auto global_of = [&](const Value* g) {
    Callable c;
    lookup_global(g->module, g->name, &c);   // allowed when it was read
    return c;
  };
  auto call = [&](Value* fn, Value* args) -> Value* {
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
  };

  while (true) {
    if (++ops > limits_.max_pickle_ops) fail("pickle runs more than " + std::to_string(limits_.max_pickle_ops) + " opcodes");
    if (pos_ >= size_) fail("truncated pickle: no STOP opcode");
    const uint8_t op = u8();
    switch (op) {
      case PROTO: {
        const int p = u8();
        if (p < 2 || p > 5) fail("unsupported pickle protocol " + std::to_string(p));
        result.protocol = p;
        break;
      }
      case FRAME:
        le(8);   // frame length: advisory; every read is bounds-checked anyway
        break;
      case STOP: {
        if (!marks.empty()) fail("pickle ends with an open MARK");
        if (stack.size() != 1) fail("pickle ends with " + std::to_string(stack.size()) + " values on the stack, not 1");
        result.root = stack.back();
        result.globals = globals_seen;
        return result;
      }
      case MARK:
        if (marks.size() >= 4096) fail("pickle nests MARKs deeper than 4096");
        marks.push_back(stack.size());
        break;
      case POP:
        if (stack.size() > floor()) stack.pop_back();
        else if (!marks.empty()) marks.pop_back();   // POP of a mark
        else fail("pickle stack underflow");
        break;
      case POP_MARK:
        pop_mark();
        break;
      case DUP:
        push(top());
        break;
      case NONE: push(&none_); break;
      case NEWTRUE: push(&true_); break;
      case NEWFALSE: push(&false_); break;
      case BININT: {
        Value* v = make(Kind::Int);
        v->i = static_cast<int32_t>(static_cast<uint32_t>(le(4)));
        push(v);
        break;
      }
      case BININT1: { Value* v = make(Kind::Int); v->i = u8(); push(v); break; }
      case BININT2: { Value* v = make(Kind::Int); v->i = static_cast<int64_t>(le(2)); push(v); break; }
      case LONG1:
      case LONG4: {
        const uint64_t n = op == LONG1 ? u8() : le(4);
        if (n > 8) fail("pickle integer of " + std::to_string(n) + " bytes is too large");
        const uint8_t* p = need(n);
        uint64_t x = 0;
        for (size_t i = 0; i < n; ++i) x |= uint64_t{p[i]} << (8 * i);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) x |= ~uint64_t{0} << (8 * n);   // sign-extend
        Value* v = make(Kind::Int);
        v->i = static_cast<int64_t>(x);
        push(v);
        break;
      }
      case INT: {   // protocol 0 text int; "I01\n"/"I00\n" are True/False
        size_t end = pos_;
        while (end < size_ && data_[end] != '\n' && end - pos_ < 24) ++end;
        if (end >= size_ || data_[end] != '\n') fail("malformed INT opcode");
        const std::string s(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
        pos_ = end + 1;
        if (s == "01" || s == "00") {
          push(s == "01" ? &true_ : &false_);
          break;
        }
        Value* v = make(Kind::Int);
        try {
          size_t used = 0;
          v->i = std::stoll(s, &used);
          if (used != s.size()) throw 0;
        } catch (...) {
          fail("malformed INT opcode");
        }
        push(v);
        break;
      }
      case BINFLOAT: {
        const uint8_t* p = need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];   // big-endian
        Value* v = make(Kind::Float);
        std::memcpy(&v->f, &bits, 8);
        push(v);
        break;
      }
      case SHORT_BINUNICODE: push(make_bytes(Kind::Str, u8())); break;
      case BINUNICODE: push(make_bytes(Kind::Str, le(4))); break;
      case BINUNICODE8: push(make_bytes(Kind::Str, le(8))); break;
      case SHORT_BINBYTES:
      case SHORT_BINSTRING: push(make_bytes(Kind::Bytes, u8())); break;
      case BINBYTES: push(make_bytes(Kind::Bytes, le(4))); break;
      case BINSTRING: {
        const int64_t n = static_cast<int32_t>(static_cast<uint32_t>(le(4)));
        if (n < 0) fail("negative BINSTRING length");
        push(make_bytes(Kind::Bytes, static_cast<size_t>(n)));
        break;
      }
      case BINBYTES8:
      case BYTEARRAY8: push(make_bytes(Kind::Bytes, le(8))); break;
      case EMPTY_TUPLE: push(container(Kind::Tuple, {})); break;
      case TUPLE: push(container(Kind::Tuple, pop_mark())); break;
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        const size_t n = op - TUPLE1 + 1;
        std::vector<Value*> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        push(container(Kind::Tuple, std::move(items)));
        break;
      }
      case EMPTY_LIST: push(container(Kind::List, {})); break;
      case LIST: push(container(Kind::List, pop_mark())); break;
      case EMPTY_DICT: push(container(Kind::Dict, {})); break;
      case DICT: {
        auto items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        push(container(Kind::Dict, std::move(items)));
        break;
      }
      case EMPTY_SET: push(container(Kind::Set, {})); break;
      case FROZENSET: push(container(Kind::Set, pop_mark())); break;
      case APPEND: {
        Value* x = pop();
        Value* l = top();
        if (l->kind != Kind::List) fail("APPEND to a " + std::string(kind_name(l->kind)));
        add_items(l, {x});
        break;
      }
      case APPENDS: {
        auto items = pop_mark();
        Value* l = top();
        if (l->kind != Kind::List) fail("APPENDS to a " + std::string(kind_name(l->kind)));
        add_items(l, items);
        break;
      }
      case ADDITEMS: {
        auto items = pop_mark();
        Value* s = top();
        if (s->kind != Kind::Set) fail("ADDITEMS to a " + std::string(kind_name(s->kind)));
        add_items(s, items);
        break;
      }
      case SETITEM: {
        Value* v = pop();
        Value* k = pop();
        Value* d = top();
        if (d->kind != Kind::Dict) fail("SETITEM on a " + std::string(kind_name(d->kind)));
        add_items(d, {k, v});
        break;
      }
      case SETITEMS: {
        auto items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        Value* d = top();
        if (d->kind != Kind::Dict) fail("SETITEMS on a " + std::string(kind_name(d->kind)));
        add_items(d, items);
        break;
      }
      case GLOBAL: {   // "module\nname\n"
        auto line = [&]() {
          size_t end = pos_;
          while (end < size_ && data_[end] != '\n' && end - pos_ < 256) ++end;
          if (end >= size_ || data_[end] != '\n') fail("malformed GLOBAL opcode");
          std::string s(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
          pos_ = end + 1;
          return s;
        };
        const std::string module = line();
        const std::string name = line();
        push(resolve_global(module, name));
        break;
      }
      case STACK_GLOBAL: {
        Value* name = pop();
        Value* module = pop();
        if (name->kind != Kind::Str || module->kind != Kind::Str) fail("STACK_GLOBAL needs two strings");
        push(resolve_global(module->str(), name->str()));
        break;
      }
      case REDUCE: {
        Value* args = pop();
        Value* fn = pop();
        push(call(fn, args));
        break;
      }
      case BUILD: {
        Value* state = pop();
        Value* obj = top();
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
        break;
      }
      case BINPERSID: {   // torch: ('storage', torch.XStorage, key, location, numel)
        Value* pid = pop();
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
        push(v);
        break;
      }
      case BINPUT: memo_put(u8()); break;
      case LONG_BINPUT: memo_put(le(4)); break;
      case MEMOIZE: memo_put(memo.size()); break;
      case BINGET: memo_get(u8()); break;
      case LONG_BINGET: memo_get(le(4)); break;
      case PUT:
      case GET: {
        size_t end = pos_;
        while (end < size_ && data_[end] != '\n' && end - pos_ < 24) ++end;
        if (end >= size_ || data_[end] != '\n') fail("malformed PUT/GET opcode");
        const std::string s(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
        pos_ = end + 1;
        uint64_t idx = 0;
        if (s.empty()) fail("malformed PUT/GET opcode");
        for (char c : s) {
          if (c < '0' || c > '9' || idx > (uint64_t{1} << 40)) fail("malformed PUT/GET opcode");
          idx = idx * 10 + static_cast<uint64_t>(c - '0');
        }
        if (op == PUT) memo_put(idx);
        else memo_get(idx);
        break;
      }
      case NEWOBJ:
      case NEWOBJ_EX:
      case OBJ:
      case INST:
        fail("pickle constructs an object with opcode " + op_name(op) + " (refused: only plain data is accepted)");
      case PERSID:
      case EXT1:
      case EXT2:
      case EXT4:
      case NEXT_BUFFER:
      case READONLY_BUFFER:
      case STRING:
      case UNICODE:
      case FLOAT:
      case LONG:
        fail("unsupported pickle opcode " + op_name(op));
      default:
        fail("invalid pickle opcode " + op_name(op));
    }
  }
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

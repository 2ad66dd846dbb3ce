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

bool utf8_valid(const uint8_t* p, size_t n) {
  uint32_t cp;
  for (size_t i = 0; i < n;)
    if (!utf8_next(p, n, &i, &cp)) return false;
  return true;
}

}  // namespace

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
        result.globals = globals_seen_;
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
        build(top(), state);
        break;
      }
      case BINPERSID: {   // torch: ('storage', torch.XStorage, key, location, numel)
        push(persistent(pop()));
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

}  // namespace ernie::pickle

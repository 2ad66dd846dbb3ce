// safetensors reader and writer.
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON (an object mapping each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
// "__metadata__" object of strings), then the data area. Offsets are relative to the data area.
//
// The reader trusts nothing in the file: every size is checked before it is used, so a hostile
// or truncated file yields an ernie::Error, never an out-of-bounds read.
#include "ernie/safetensors.h"

#include "ernie/atomic_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "checkpoint/formats.h"
#include "ernie/error.h"

namespace ernie {

using checkpoint::printable;

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeader = 100u * 1000u * 1000u;  // 100 MB, as in the reference reader
constexpr int kMaxDepth = 16;                           // a valid header nests 3 deep


[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw Error(what + ": " + problem);
}

// Thrown from the JSON parser callback to stop parsing early (caught inside parse_header).
struct HeaderAbort {
  std::string problem;
};

// Parses the header text, rejecting duplicate keys (at any level: nlohmann would silently keep
// the last one) and absurd nesting.
json parse_header(const char* text, size_t len, const std::string& what) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
        if (depth >= kMaxDepth) throw HeaderAbort{"header JSON is nested too deeply"};
        keys.emplace_back();
        break;
      case json::parse_event_t::array_start:
        if (depth >= kMaxDepth) throw HeaderAbort{"header JSON is nested too deeply"};
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!keys.empty() && !keys.back().insert(k).second) {
          if (keys.size() == 1)
            throw HeaderAbort{"duplicate tensor name '" + printable(k) + "' in header"};
          throw HeaderAbort{"duplicate key '" + printable(k) + "' in header"};
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows; a
  // NUL is never valid in JSON text, so reject it up front.
  if (std::memchr(text, 0, len))
    fail(what, "header is not valid JSON: it contains a NUL byte");
  try {
    return json::parse(text, text + len, callback);
  } catch (const HeaderAbort& a) {
    fail(what, a.problem);
  } catch (const json::exception& e) {
    fail(what, std::string("header is not valid JSON: ") + printable(e.what(), 300));
  }
}

// The unsigned integer in a JSON value, or false if it is not one.
bool get_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const json& v, const std::string& what) {
  const std::string pname = "tensor '" + printable(name) + "'";
  if (!v.is_object()) fail(what, pname + ": header entry is not an object");
  for (const auto& [key, _] : v.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail(what, pname + ": unexpected key '" + printable(key) +
                     "' (entries have exactly dtype, shape, data_offsets)");
  }
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) fail(what, pname + ": missing '" + key + "'");

  Entry e;
  e.name = name;
  const json& dt = v["dtype"];
  if (!dt.is_string()) fail(what, pname + ": dtype must be a string");
  if (!dtype_from_name(dt.get_ref<const std::string&>(), &e.dtype))
    fail(what, pname + ": unknown dtype '" + printable(dt.get_ref<const std::string&>()) + "'");

  const json& sh = v["shape"];
  if (!sh.is_array()) fail(what, pname + ": shape must be an array of integers");
  for (const json& d : sh) {
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
      fail(what, pname + ": negative dimension " + std::to_string(d.get<int64_t>()) + " in shape");
    uint64_t u;
    if (!get_u64(d, &u)) fail(what, pname + ": shape must be an array of integers");
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(what, pname + ": dimension " + std::to_string(u) + " is too large");
    e.shape.push_back(static_cast<int64_t>(u));
  }

  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !get_u64(off[0], &e.begin) || !get_u64(off[1], &e.end))
    fail(what, pname + ": data_offsets must be an array of two non-negative integers");
  if (e.begin > e.end)
    fail(what, pname + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                   "] have begin > end");

  // numel * dtype size, checked for overflow at every step.
  uint64_t bytes = dtype_size(e.dtype);
  for (int64_t d : e.shape) {
    const uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && bytes > std::numeric_limits<uint64_t>::max() / ud)
      fail(what, pname + ": shape " + shape_str(e.shape) + " overflows the byte size");
    bytes *= ud;
  }
  // Tensor sizes are int64 elsewhere; numel <= bytes, so this bounds the element count too.
  if (bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail(what, pname + ": shape " + shape_str(e.shape) + " overflows the byte size");
  if (e.end - e.begin != bytes)
    fail(what, pname + ": size mismatch: data_offsets [" + std::to_string(e.begin) + ", " +
                   std::to_string(e.end) + "] span " + std::to_string(e.end - e.begin) +
                   " bytes but " + dt.get_ref<const std::string&>() + " " + shape_str(e.shape) +
                   " needs " + std::to_string(bytes));
  return e;
}

// Validates the whole file image and builds the tensors. With an owner the tensors borrow the
// image where their data is aligned to the dtype size; without one they are always copied.
TensorFile parse_image(const uint8_t* base, size_t size, const std::string& what,
                       const std::shared_ptr<const void>& owner) {
  if (size < 8)
    fail(what, "truncated file: " + std::to_string(size) +
                   " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base[i];  // little-endian
  if (n > kMaxHeader)
    fail(what, "header too large: " + std::to_string(n) + " bytes (limit " +
                   std::to_string(kMaxHeader) + ")");
  if (n > size - 8)
    fail(what, "truncated file: header length " + std::to_string(n) + " exceeds the " +
                   std::to_string(size - 8) + " bytes after the length field");
  const char* text = reinterpret_cast<const char*>(base + 8);
  if (n == 0 || text[0] != '{') fail(what, "header must start with '{'");

  const json header = parse_header(text, static_cast<size_t>(n), what);
  if (!header.is_object()) fail(what, "header is not a JSON object");

  const uint8_t* data = base + 8 + n;
  const uint64_t data_size = size - 8 - n;

  TensorFile out;
  std::vector<Entry> entries;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(what, "__metadata__ must be an object of strings");
      for (const auto& [k, mv] : v.items()) {
        if (!mv.is_string())
          fail(what, "__metadata__ value for '" + printable(k) + "' must be a string");
        out.metadata[k] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, v, what));
  }

  for (const Entry& e : entries) {
    if (e.end > data_size)
      fail(what, "truncated file: tensor '" + printable(e.name) + "' data_offsets [" +
                     std::to_string(e.begin) + ", " + std::to_string(e.end) +
                     "] run past the end of the " + std::to_string(data_size) + "-byte data area");
  }

  // Sorted by begin, the byte ranges must tile [0, data_size) with no gap and no overlap.
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : order) {
    if (e->begin > pos)
      fail(what, "offsets gap: no tensor covers bytes [" + std::to_string(pos) + ", " +
                     std::to_string(e->begin) + ") before tensor '" + printable(e->name) + "'");
    if (e->begin < pos)
      fail(what, "offsets overlap: tensor '" + printable(e->name) + "' starts at " +
                     std::to_string(e->begin) + " inside tensor '" +
                     (prev ? printable(prev->name) : std::string()) + "' (ends at " +
                     std::to_string(pos) + ")");
    pos = e->end;
    prev = e;
  }
  if (pos != data_size)
    fail(what, "offsets gap: tensors cover " + std::to_string(pos) + " bytes but the data area has " +
                   std::to_string(data_size) + " (trailing bytes)");

  for (const Entry& e : entries) {
    const uint8_t* p = data + e.begin;
    const size_t bytes = static_cast<size_t>(e.end - e.begin);
    Tensor t;
    if (owner && reinterpret_cast<uintptr_t>(p) % dtype_size(e.dtype) == 0) {
      t = Tensor::borrow(e.dtype, e.shape, const_cast<uint8_t*>(p), owner);
    } else {
      t = Tensor::empty(e.dtype, e.shape);
      if (bytes) std::memcpy(t.raw(), p, bytes);
    }
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}


}  // namespace

TensorFile parse_safetensors(const void* data, size_t size, const std::string& what) {
  if (!data && size) fail(what, "null buffer");
  static const uint8_t kEmpty = 0;
  return parse_image(data ? static_cast<const uint8_t*>(data) : &kEmpty, size, what, nullptr);
}

TensorFile read_safetensors(const std::filesystem::path& file) {
  const checkpoint::MappedFile m = checkpoint::map_file(file);
  static const uint8_t kEmpty = 0;
  // Tensors aligned in the mapping borrow from it and keep it alive.
  return parse_image(m.data ? m.data : &kEmpty, m.size, file.string(), m.keep);
}

std::string safetensors_header(const std::map<std::string, TensorLayout>& tensors,
                               const std::map<std::string, std::string>& metadata, const std::string& what) {
  // Entries in name order (std::map and nlohmann::json both order keys bytewise), data laid out
  // in the same order.
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") fail(what, "'__metadata__' is reserved and cannot name a tensor");
    const uint64_t bytes = static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // e.g. a name that is not valid UTF-8
    fail(what, std::string("cannot encode header: ") + printable(e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data then starts 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(uint64_t{text.size()} >> (8 * i));
  return out + text;
}

void write_safetensors(const std::filesystem::path& file, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::map<std::string, TensorLayout> layout;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) fail(file.string(), "tensor '" + printable(name) + "' is undefined");
    layout[name] = {t.dtype(), t.shape()};
  }
  const std::string header = safetensors_header(layout, metadata, file.string());
  AtomicFile out(file);
  out.write(header);
  for (const auto& [name, t] : tensors) out.write(t.raw(), t.nbytes());
  out.commit();
}

}  // namespace ernie

// PaddleNLP / paddle.save `.pdparams`: a pickle (protocol 2-4; 5 accepted) of a dict of numpy
// arrays, plus the "StructuredToParameterName@@" name table (ignored) and, for protocol 2/3
// files with arrays over 2^30 bytes, slices "name@@.0", "name@@.1"... described by
// "UnpackBigParamInfor@@" {name: {"OriginShape": shape, "slices": [names]}}, joined back here.
#include <cerrno>
#include <cstring>
#include <set>

#include "checkpoint/formats.h"
#include "checkpoint/pickle.h"
#include "ernie/error.h"

namespace ernie {

namespace checkpoint {

bool is_legacy_torch(const uint8_t* d, size_t n) {
  // PROTO 2, LONG1 10 bytes: the magic number 0x1950a86a20f9469cfc6c.
  static const uint8_t kMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  return n >= sizeof kMagic && std::memcmp(d, kMagic, sizeof kMagic) == 0;
}

Checkpoint read_pdparams_file(const std::filesystem::path& file, const ReadLimits& limits) {
  const MappedFile m = map_file(file);
  Checkpoint c = parse_pdparams(m.data, m.size, file.string(), limits);
  c.files = {file};
  return c;
}

}  // namespace checkpoint

namespace {

using pickle::Kind;
using pickle::Value;
using pickle::printable;

std::string key_of(const Value* k, const std::string& what) {
  if (k->kind != Kind::Str && k->kind != Kind::Bytes)
    throw Error(what + ": dict key is a " + std::string(pickle::kind_name(k->kind)) + ", not a string");
  return k->str();
}

const Value* dict_get(const Value* d, const std::string& key) {
  for (size_t i = 0; i + 1 < d->items.size(); i += 2)
    if ((d->items[i]->kind == Kind::Str || d->items[i]->kind == Kind::Bytes) && d->items[i]->str() == key)
      return d->items[i + 1];
  return nullptr;
}

// Joins "name@@.0", "name@@.1"... into `name` with its original shape.
void join_big_params(const Value* info, std::map<std::string, Tensor>& tensors, const std::string& what,
                     std::vector<std::string>& notes) {
  if (info->kind != Kind::Dict) throw Error(what + ": UnpackBigParamInfor@@ is not a dict");
  for (size_t i = 0; i + 1 < info->items.size(); i += 2) {
    const std::string name = key_of(info->items[i], what);
    const Value* entry = info->items[i + 1];
    const std::string where = what + ": UnpackBigParamInfor@@['" + printable(name) + "']";
    if (entry->kind != Kind::Dict) throw Error(where + " is not a dict");
    const Value* shape_v = dict_get(entry, "OriginShape");
    const Value* slices = dict_get(entry, "slices");
    if (!shape_v || (shape_v->kind != Kind::Tuple && shape_v->kind != Kind::List))
      throw Error(where + " has no OriginShape tuple");
    if (!slices || slices->kind != Kind::List || slices->items.empty()) throw Error(where + " has no slices list");
    Shape shape;
    for (const Value* d : shape_v->items) {
      if (d->kind != Kind::Int || d->i < 0 || shape.size() >= 16) throw Error(where + " has a bad OriginShape");
      shape.push_back(d->i);
    }
    std::vector<Tensor> parts;
    int64_t total = 0;
    for (const Value* s : slices->items) {
      const std::string part = key_of(s, what);
      auto it = tensors.find(part);
      if (it == tensors.end()) throw Error(where + " names slice '" + printable(part) + "' which is not in the file");
      if (!parts.empty() && it->second.dtype() != parts[0].dtype())
        throw Error(where + ": slices have different dtypes");
      if (it->second.rank() != 1) throw Error(where + ": slice '" + printable(part) + "' is not 1-D");
      total += it->second.numel();
      parts.push_back(it->second);
      tensors.erase(it);
    }
    // Shape product, guarding overflow.
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d != 0 && numel > (int64_t{1} << 50) / d) throw Error(where + ": OriginShape is too large");
      numel *= d;
    }
    if (numel != total)
      throw Error(where + ": slices hold " + std::to_string(total) + " elements but OriginShape " + shape_str(shape) +
                  " needs " + std::to_string(numel));
    if (tensors.count(name)) throw Error(where + ": '" + printable(name) + "' is also stored whole");
    Tensor t = Tensor::empty(parts[0].dtype(), shape);
    size_t off = 0;
    for (const Tensor& p : parts) {
      std::memcpy(static_cast<uint8_t*>(t.raw()) + off, p.raw(), p.nbytes());
      off += p.nbytes();
    }
    tensors[name] = std::move(t);
    notes.push_back("joined " + printable(name) + " from " + std::to_string(parts.size()) + " slices (UnpackBigParamInfor@@)");
  }
}

}  // namespace

Checkpoint parse_pdparams(const void* data, size_t size, const std::string& what, const ReadLimits& limits) {
  if (size == 0) throw Error(what + ": empty file");
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (checkpoint::is_legacy_torch(bytes, size))
    throw Error(what + ": legacy PyTorch (pre-1.6) file, not a .pdparams; re-save it with torch.save(state_dict, path) "
                       "from PyTorch >= 1.6 (zip format) or convert it to safetensors");
  if (bytes[0] != 0x80) throw Error(what + ": not a pickle (first byte is not the PROTO opcode)");
  pickle::Unpickler up(bytes, size, what, limits);
  const pickle::Result r = up.load();
  const Value* root = r.root;
  if (root->kind != Kind::Dict)
    throw Error(what + ": the pickle holds a " + std::string(pickle::kind_name(root->kind)) + ", not a dict of arrays");

  Checkpoint c;
  c.format = CheckpointFormat::PaddlePickle;
  c.notes.push_back("pickle protocol " + std::to_string(r.protocol));
  std::string globals;
  for (const auto& g : r.globals) globals += (globals.empty() ? "" : ", ") + g;
  if (!globals.empty()) c.notes.push_back("globals: " + globals);
  const Value* big = nullptr;
  for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
    const std::string name = key_of(root->items[i], what);
    const Value* v = root->items[i + 1];
    if (name == "StructuredToParameterName@@") {
      c.notes.push_back("ignored StructuredToParameterName@@ (a " + std::string(pickle::kind_name(v->kind)) + " of " +
                        std::to_string(v->items.size() / (v->kind == Kind::Dict ? 2 : 1)) + ")");
      continue;
    }
    if (name == "UnpackBigParamInfor@@") {
      big = v;
      continue;
    }
    if (v->kind != Kind::NdArray) {
      c.notes.push_back("ignored '" + printable(name) + "' (a " + pickle::kind_name(v->kind) + ")");
      continue;
    }
    if (c.tensors.size() >= limits.max_tensors) throw Error(what + ": more than " + std::to_string(limits.max_tensors) + " arrays");
    if (c.tensors.count(name)) throw Error(what + ": duplicate array name '" + printable(name) + "'");
    Tensor t = pickle::ndarray_to_tensor(*v, what, name, limits);
    if (v->dtype && (v->dtype->typestr == "u2" || v->dtype->typestr == "<u2"))
      c.notes.push_back(printable(name).insert(0, 1, '\'') + "' is uint16: read as bfloat16 (how Paddle stores bf16)");
    c.tensors.emplace(name, std::move(t));
  }
  if (big) join_big_params(big, c.tensors, what, c.notes);
  c.notes.push_back(std::to_string(c.tensors.size()) + " arrays");
  return c;
}

}  // namespace ernie

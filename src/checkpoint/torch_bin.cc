// PyTorch `pytorch_model.bin` (torch.save since 1.6): a zip archive (read with libzip, from a
// read-only mapping; nothing is extracted) holding `<folder>/data.pkl`, a pickle whose tensors are
// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` over storages named by
// persistent ids ('storage', torch.FloatStorage, key, location, numel) and stored as
// `<folder>/data/<key>`. The folder name is whatever the writer chose ("archive", the file stem...).
#include <zip.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "checkpoint/formats.h"
#include "checkpoint/pickle.h"
#include "ernie/error.h"

namespace ernie {

namespace {

using pickle::Kind;
using pickle::Value;
using pickle::printable;

struct ZipCloser {
  void operator()(zip_t* z) const {
    if (z) zip_discard(z);
  }
};

// Entry names that could escape a folder if extracted: absolute, drive letters, backslashes, "..".
bool safe_entry_name(const std::string& n) {
  if (n.empty() || n[0] == '/' || n.find('\\') != std::string::npos || n.find(':') != std::string::npos) return false;
  size_t start = 0;
  while (start <= n.size()) {
    size_t end = n.find('/', start);
    if (end == std::string::npos) end = n.size();
    if (n.compare(start, end - start, "..") == 0 && end - start == 2) return false;
    start = end + 1;
  }
  return true;
}

class Archive {
 public:
  Archive(const void* data, size_t size, std::string what, const ReadLimits& limits)
      : what_(std::move(what)), size_(size), limits_(limits) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(data, size, 0, &err);
    if (!src) fail("cannot read as zip: " + std::string(zip_error_strerror(&err)));
    zip_t* z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z) {
      zip_source_free(src);
      const std::string msg = zip_error_strerror(&err);
      zip_error_fini(&err);
      fail("not a valid zip archive: " + msg);
    }
    zip_error_fini(&err);
    zip_.reset(z);
    const zip_int64_t n = zip_get_num_entries(z, 0);
    if (n < 0 || static_cast<uint64_t>(n) > limits.max_tensors + 64) fail("zip has too many entries");
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(z, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
      if (!name) fail("zip entry " + std::to_string(i) + " has no name");
      const std::string s = name;
      if (!safe_entry_name(s)) fail("zip entry '" + printable(s) + "' has an unsafe name (refused)");
      if (!index_.emplace(s, static_cast<zip_uint64_t>(i)).second) fail("zip has two entries named '" + printable(s) + "'");
    }
  }

  [[noreturn]] void fail(const std::string& problem) const { throw Error(what_ + ": " + problem); }
  const std::map<std::string, zip_uint64_t>& entries() const { return index_; }
  bool has(const std::string& name) const { return index_.count(name) > 0; }

  // The whole entry in memory, after checking its declared size against the archive and limits.
  std::vector<uint8_t> read(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) fail("zip has no entry '" + printable(name) + "'");
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_.get(), it->second, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
      fail("cannot stat zip entry '" + printable(name) + "'");
    const bool stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
    // Deflate expands at most ~1032x; a stored entry cannot be larger than the archive.
    const uint64_t cap = stored ? size_ : static_cast<uint64_t>(size_) * 1032;
    if (st.size > cap || st.size > limits_.max_tensor_bytes)
      fail("zip entry '" + printable(name) + "' claims " + std::to_string(st.size) + " bytes, more than the archive can hold");
    zip_file_t* f = zip_fopen_index(zip_.get(), it->second, 0);
    if (!f) fail("cannot open zip entry '" + printable(name) + "': " + zip_strerror(zip_.get()));
    std::vector<uint8_t> buf(st.size);
    zip_uint64_t got = 0;
    while (got < st.size) {
      const zip_int64_t r = zip_fread(f, buf.data() + got, st.size - got);
      if (r <= 0) break;
      got += static_cast<zip_uint64_t>(r);
    }
    uint8_t extra;
    const zip_int64_t tail = got == st.size ? zip_fread(f, &extra, 1) : 0;
    const std::string ferr = zip_file_strerror(f);
    zip_fclose(f);
    if (got != st.size || tail < 0)
      fail("zip entry '" + printable(name) + "' is damaged (read " + std::to_string(got) + " of " +
           std::to_string(st.size) + " bytes: " + ferr + ")");
    return buf;
  }

 private:
  std::string what_;
  size_t size_;
  ReadLimits limits_;
  std::unique_ptr<zip_t, ZipCloser> zip_;
  std::map<std::string, zip_uint64_t> index_;
};

// Strided copy out of a storage, every index checked against the storage size first.
Tensor materialize(const Value& t, const std::vector<uint8_t>& storage, const std::string& what,
                   const std::string& name, const ReadLimits& limits) {
  auto fail = [&](const std::string& problem) { throw Error(what + ": tensor '" + printable(name) + "': " + problem); };
  const Value& s = *t.raw;
  const size_t esize = dtype_size(s.storage_dtype);
  const int64_t rank = static_cast<int64_t>(t.shape.size());
  uint64_t numel = 1;
  for (int64_t d : t.shape) {
    if (d != 0 && numel > limits.max_tensor_bytes / static_cast<uint64_t>(d)) fail("size " + shape_str(t.shape) + " is too large");
    numel *= static_cast<uint64_t>(d);
  }
  if (numel * esize > limits.max_tensor_bytes) fail("size " + shape_str(t.shape) + " is too large");
  Tensor out = Tensor::empty(s.storage_dtype, t.shape);
  if (numel == 0) return out;
  // Highest element index the view touches.
  uint64_t last = static_cast<uint64_t>(t.offset);
  for (int64_t i = 0; i < rank; ++i) {
    const uint64_t step = static_cast<uint64_t>(t.shape[i] - 1);
    const uint64_t stride = static_cast<uint64_t>(t.stride[i]);
    if (stride != 0 && step > (uint64_t{1} << 62) / stride) fail("stride overflows");
    last += step * stride;
    if (last > (uint64_t{1} << 62)) fail("stride overflows");
  }
  if (last >= static_cast<uint64_t>(s.numel) || (last + 1) * esize > storage.size())
    fail("view (offset " + std::to_string(t.offset) + ", size " + shape_str(t.shape) + ", stride " + shape_str(t.stride) +
         ") reaches element " + std::to_string(last) + " of a storage of " + std::to_string(s.numel));
  const uint8_t* base = storage.data();
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  // Contiguous fast path.
  bool contiguous = true;
  int64_t expect = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (t.shape[i] != 1 && t.stride[i] != expect) contiguous = false;
    expect *= t.shape[i];
  }
  if (contiguous) {
    std::memcpy(dst, base + static_cast<size_t>(t.offset) * esize, numel * esize);
    return out;
  }
  std::vector<int64_t> idx(rank, 0);
  for (uint64_t n = 0; n < numel; ++n) {
    int64_t src = t.offset;
    for (int64_t i = 0; i < rank; ++i) src += idx[i] * t.stride[i];
    std::memcpy(dst + n * esize, base + static_cast<size_t>(src) * esize, esize);
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++idx[i] < t.shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

}  // namespace

namespace checkpoint {
Checkpoint read_torch_zip_file(const std::filesystem::path& file, const ReadLimits& limits) {
  const MappedFile m = map_file(file);
  Checkpoint c = parse_torch_zip(m.data, m.size, file.string(), limits);
  c.files = {file};
  return c;
}
}  // namespace checkpoint

Checkpoint parse_torch_zip(const void* data, size_t size, const std::string& what, const ReadLimits& limits) {
  if (size >= 2 && static_cast<const uint8_t*>(data)[0] == 0x80 && checkpoint::is_legacy_torch(static_cast<const uint8_t*>(data), size))
    throw Error(what + ": legacy PyTorch (pre-1.6) serialization is not supported; re-save it with PyTorch >= 1.6 "
                       "(torch.save(torch.load(old), new)) or convert it to safetensors");
  Archive zip(data, size, what, limits);
  std::string pkl;
  for (const auto& [name, idx] : zip.entries()) {
    const size_t slash = name.find('/');
    if (name == "data.pkl" || (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0)) {
      if (!pkl.empty()) zip.fail("zip holds two pickles ('" + printable(pkl) + "' and '" + printable(name) + "')");
      pkl = name;
    }
  }
  if (pkl.empty()) zip.fail("zip has no data.pkl (not a torch.save checkpoint)");
  const std::string prefix = pkl.substr(0, pkl.size() - std::strlen("data.pkl"));
  if (zip.has(prefix + "byteorder")) {
    const auto bo = zip.read(prefix + "byteorder");
    if (std::string(bo.begin(), bo.end()) != "little") zip.fail("big-endian torch checkpoints are not supported");
  }

  const std::vector<uint8_t> pickled = zip.read(pkl);
  if (pickled.empty()) zip.fail("data.pkl is empty");
  pickle::Unpickler up(pickled.data(), pickled.size(), what + ":" + printable(pkl), limits);
  const pickle::Result r = up.load();
  const Value* root = r.root;
  if (root->kind != Kind::Dict)
    zip.fail("data.pkl holds a " + std::string(pickle::kind_name(root->kind)) + ", not a state dict");
  // A {"state_dict": {...}} or {"model": {...}} wrapper: use the inner dict.
  auto has_tensor = [](const Value* d) {
    for (size_t i = 1; i < d->items.size(); i += 2)
      if (d->items[i]->kind == Kind::TorchTensor) return true;
    return false;
  };
  if (!has_tensor(root))
    for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
      const Value* k = root->items[i];
      const Value* v = root->items[i + 1];
      if (k->kind == Kind::Str && (k->str() == "state_dict" || k->str() == "model") && v->kind == Kind::Dict && has_tensor(v)) {
        root = v;
        break;
      }
    }

  Checkpoint c;
  c.format = CheckpointFormat::TorchZip;
  c.notes.push_back("zip folder '" + printable(prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1)) + "', pickle protocol " +
                    std::to_string(r.protocol));
  std::string globals;
  for (const auto& g : r.globals) globals += (globals.empty() ? "" : ", ") + g;
  if (!globals.empty()) c.notes.push_back("globals: " + globals);

  std::map<std::string, std::vector<uint8_t>> storages;
  std::map<std::string, const Value*> declared;   // key -> the first persistent id naming it
  std::map<std::string, std::vector<std::string>> users;
  for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
    const Value* k = root->items[i];
    const Value* v = root->items[i + 1];
    if (k->kind != Kind::Str) zip.fail("state dict key is a " + std::string(pickle::kind_name(k->kind)) + ", not a string");
    const std::string name = k->str();
    if (v->kind != Kind::TorchTensor) {
      c.notes.push_back("ignored '" + printable(name) + "' (a " + pickle::kind_name(v->kind) + ")");
      continue;
    }
    if (c.tensors.size() >= limits.max_tensors) zip.fail("too many tensors");
    if (c.tensors.count(name)) zip.fail("duplicate tensor name '" + printable(name) + "'");
    const Value& s = *v->raw;
    const std::string entry = prefix + "data/" + s.typestr;
    auto [first, fresh] = declared.emplace(s.typestr, &s);
    if (!fresh && (first->second->storage_dtype != s.storage_dtype || first->second->numel != s.numel))
      zip.fail("storage '" + printable(entry) + "' is declared twice with different types or sizes");
    auto it = storages.find(s.typestr);
    if (it == storages.end()) {
      if (!zip.has(entry)) zip.fail("tensor '" + printable(name) + "' needs storage '" + printable(entry) + "', which is missing");
      std::vector<uint8_t> bytes = zip.read(entry);
      const uint64_t want = static_cast<uint64_t>(s.numel) * dtype_size(s.storage_dtype);
      if (bytes.size() != want)
        zip.fail("storage '" + printable(entry) + "' has " + std::to_string(bytes.size()) + " bytes but the pickle says " +
                 std::to_string(s.numel) + " x " + dtype_name(s.storage_dtype) + " = " + std::to_string(want));
      it = storages.emplace(s.typestr, std::move(bytes)).first;
    }
    users[s.typestr].push_back(name);
    c.tensors.emplace(name, materialize(*v, it->second, what, name, limits));
  }
  for (const auto& [key, names] : users)
    if (names.size() > 1) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + printable(n);
      c.notes.push_back("shared storage " + printable(key) + ": " + list);
    }
  c.notes.push_back(std::to_string(c.tensors.size()) + " tensors in " + std::to_string(storages.size()) + " storages");
  return c;
}

}  // namespace ernie

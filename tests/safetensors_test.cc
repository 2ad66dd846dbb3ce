// safetensors: files built byte by byte from the format description, write/read round trips,
// every validation rule, a mutation loop over a valid file and atomic writes (`ernie inspect`: inspect_cli_test.cc).
#include "ernie/safetensors.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "ernie/error.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace ernie {
namespace {

using testing::TempDir;

// ---------------------------------------------------------------------------------------------
// helpers

// The format: 8-byte little-endian header length, the JSON header, then the data area.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

template <class T>
std::string bytes_of(std::initializer_list<T> vals) {
  std::string s(vals.size() * sizeof(T), '\0');
  std::memcpy(s.data(), std::data(vals), s.size());
  return s;
}

TensorFile parse(const std::string& bytes) {
  return parse_safetensors(bytes.data(), bytes.size(), "mem.safetensors");
}

// Expects parsing to fail with a one-line message that names the input and contains `phrase`.
void expect_parse_error(const std::string& bytes, const std::string& phrase) {
  try {
    parse(bytes);
    ADD_FAILURE() << "parsed without error; expected '" << phrase << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(phrase), std::string::npos) << "message: " << msg;
    EXPECT_NE(msg.find("mem.safetensors"), std::string::npos) << "message: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message: " << msg;
  }
}

std::string entry(const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(b) + "," + std::to_string(e) + "]}";
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string tensor_bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw()), t.nbytes());
}

// ---------------------------------------------------------------------------------------------
// reading hand-built files

TEST(Safetensors, HandBuiltFileParses) {
  const std::string header = "{\"a\":" + entry("F32", "[2]", 0, 8) + ",\"b\":" +
                             entry("I64", "[1,1]", 8, 16) +
                             ",\"__metadata__\":{\"format\":\"pt\",\"note\":\"x\"}}";
  const std::string file = make_file(header, bytes_of<float>({1.5f, -2.0f}) + bytes_of<int64_t>({7}));
  TensorFile tf = parse(file);
  ASSERT_EQ(tf.tensors.size(), 2u);
  const Tensor& a = tf.tensors.at("a");
  EXPECT_EQ(a.dtype(), DType::F32);
  EXPECT_EQ(a.shape(), Shape{2});
  EXPECT_EQ(a.data<float>()[0], 1.5f);
  EXPECT_EQ(a.data<float>()[1], -2.0f);
  const Tensor& b = tf.tensors.at("b");
  EXPECT_EQ(b.dtype(), DType::I64);
  EXPECT_EQ(b.shape(), (Shape{1, 1}));
  EXPECT_EQ(b.to_i64(), std::vector<int64_t>{7});
  EXPECT_EQ(tf.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "x"}}));

  // The same bytes through the file reader.
  TempDir dir;
  testing::write_file(dir / "h.safetensors", file);
  TensorFile rf = read_safetensors(dir / "h.safetensors");
  EXPECT_EQ(tensor_bytes(rf.tensors.at("a")), tensor_bytes(a));
  EXPECT_EQ(tensor_bytes(rf.tensors.at("b")), tensor_bytes(b));
  EXPECT_EQ(rf.metadata, tf.metadata);
}

TEST(Safetensors, SpecialCases) {
  // Scalars, empty tensors (zero-length ranges), padding spaces after the JSON, no metadata.
  const std::string header = "{\"s\":" + entry("F64", "[]", 0, 8) + ",\"e\":" +
                             entry("F32", "[0,3]", 8, 8) + ",\"u\":" + entry("U8", "[3]", 8, 11) +
                             "}     ";
  TensorFile tf = parse(make_file(header, bytes_of<double>({2.25}) + "\x01\x02\x03"));
  EXPECT_EQ(tf.tensors.at("s").shape(), Shape{});
  EXPECT_EQ(tf.tensors.at("s").data<double>()[0], 2.25);
  EXPECT_EQ(tf.tensors.at("e").numel(), 0);
  EXPECT_EQ(tf.tensors.at("u").to_i64(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(tf.metadata.empty());

  // A header with no tensors at all.
  EXPECT_TRUE(parse(make_file("{}", "")).tensors.empty());
}

TEST(Safetensors, ZeroCopyWhenAlignedElseCopied) {
  TempDir dir;
  // mmap returns a page-aligned base, so a tensor's address is base + 8 + N + begin. Owned
  // copies are 64-byte aligned; a borrowed view at offset 8 (mod 64) proves zero-copy.
  std::string header = "{\"w\":" + entry("F32", "[4]", 0, 16) + "}";
  header.append(64 - header.size() % 64, ' ');  // N % 64 == 0 -> data at 8 (mod 64)
  testing::write_file(dir / "aligned.safetensors", make_file(header, bytes_of<float>({1, 2, 3, 4})));
  {
    TensorFile tf = read_safetensors(dir / "aligned.safetensors");
    const Tensor& w = tf.tensors.at("w");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(w.raw()) % 64, 8u) << "expected a view into the mapping";
    EXPECT_EQ(w.data<float>()[3], 4.0f);
  }

  // N % 4 == 1: the F32 data is misaligned in the mapping, so the reader copies it.
  std::string odd = "{\"w\":" + entry("F32", "[4]", 0, 16) + "}";
  while (odd.size() % 4 != 1) odd += ' ';
  testing::write_file(dir / "odd.safetensors", make_file(odd, bytes_of<float>({1, 2, 3, 4})));
  TensorFile tf = read_safetensors(dir / "odd.safetensors");
  const Tensor& w = tf.tensors.at("w");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.raw()) % 64, 0u) << "expected an aligned copy";
  EXPECT_EQ(w.data<float>()[0], 1.0f);
  EXPECT_EQ(w.data<float>()[3], 4.0f);
}

TEST(Safetensors, ViewsOutliveTheFileAndTheTensorFile) {
  TempDir dir;
  Tensor t = Tensor::empty(DType::F32, {64});
  for (int i = 0; i < 64; ++i) t.data<float>()[i] = static_cast<float>(i) * 0.5f;
  write_safetensors(dir / "m.safetensors", {{"t", t}});
  Tensor view;
  {
    TensorFile tf = read_safetensors(dir / "m.safetensors");
    view = tf.tensors.at("t");
  }
  fs::remove(dir / "m.safetensors");  // the mapping keeps the data readable
  EXPECT_EQ(tensor_bytes(view), tensor_bytes(t));
}

// ---------------------------------------------------------------------------------------------
// writing

Tensor patterned(DType dtype, const Shape& shape, int seed) {
  Tensor t = Tensor::empty(dtype, shape);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i)
    p[i] = dtype == DType::Bool ? static_cast<uint8_t>((i + seed) % 2)
                                : static_cast<uint8_t>(i * 131 + seed * 17 + 3);
  return t;
}

TEST(Safetensors, RoundTripEveryDtypeByteExact) {
  TempDir dir;
  std::map<std::string, Tensor> tensors;
  const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                       DType::I32, DType::I16,  DType::I8,  DType::U8,  DType::Bool};
  int k = 0;
  for (DType d : all) {
    for (const Shape& s : {Shape{}, Shape{0}, Shape{3, 5}, Shape{2, 3, 7}}) {
      tensors[std::string(dtype_name(d)) + "." + shape_str(s)] = patterned(d, s, k++);
    }
  }
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"by", "ernie \xc3\xa9"}};
  write_safetensors(dir / "all.safetensors", tensors, meta);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"all.safetensors"});

  TensorFile tf = read_safetensors(dir / "all.safetensors");
  EXPECT_EQ(tf.metadata, meta);
  ASSERT_EQ(tf.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor& r = tf.tensors.at(name);
    EXPECT_EQ(r.dtype(), t.dtype()) << name;
    EXPECT_EQ(r.shape(), t.shape()) << name;
    EXPECT_EQ(tensor_bytes(r), tensor_bytes(t)) << name;
  }

  // The same bytes through the in-memory parser.
  const std::string bytes = testing::read_file(dir / "all.safetensors");
  TensorFile mf = parse_safetensors(bytes.data(), bytes.size(), "all");
  for (const auto& [name, t] : tensors) EXPECT_EQ(tensor_bytes(mf.tensors.at(name)), tensor_bytes(t));
}

TEST(Safetensors, WrittenLayoutFollowsTheSpec) {
  TempDir dir;
  std::map<std::string, Tensor> tensors = {{"zeta", patterned(DType::F32, {3}, 1)},
                                           {"alpha", patterned(DType::I8, {5}, 2)},
                                           {"mid", patterned(DType::F16, {2, 2}, 3)}};
  write_safetensors(dir / "x.safetensors", tensors);
  const std::string bytes = testing::read_file(dir / "x.safetensors");
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u) << "header padded to a multiple of 8";
  EXPECT_EQ(bytes.size(), 8 + n + 12 + 5 + 8);
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header[0], '{');
  const size_t close = header.find_last_of('}');
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << "padding is spaces";

  // Entries and data in name order.
  const nlohmann::json j = nlohmann::json::parse(header);
  EXPECT_EQ(j["alpha"]["data_offsets"], nlohmann::json({0, 5}));
  EXPECT_EQ(j["mid"]["data_offsets"], nlohmann::json({5, 13}));
  EXPECT_EQ(j["zeta"]["data_offsets"], nlohmann::json({13, 25}));
  EXPECT_EQ(j["mid"]["dtype"], "F16");
  EXPECT_EQ(j["mid"]["shape"], nlohmann::json({2, 2}));
  EXPECT_EQ(j["__metadata__"], nlohmann::json({{"format", "pt"}}));
  EXPECT_EQ(bytes.substr(8 + n, 5), tensor_bytes(tensors["alpha"]));
  EXPECT_EQ(bytes.substr(8 + n + 13, 12), tensor_bytes(tensors["zeta"]));
}

TEST(Safetensors, WriteEmptyFile) {
  TempDir dir;
  write_safetensors(dir / "e.safetensors", {}, {});
  const std::string bytes = testing::read_file(dir / "e.safetensors");
  EXPECT_EQ(bytes, make_file("{}      ", ""));
  TensorFile tf = read_safetensors(dir / "e.safetensors");
  EXPECT_TRUE(tf.tensors.empty());
  EXPECT_TRUE(tf.metadata.empty());
}

TEST(Safetensors, WriteRefusesBadInput) {
  TempDir dir;
  EXPECT_THROW(write_safetensors(dir / "u.safetensors", {{"t", Tensor()}}), Error);
  EXPECT_THROW(write_safetensors(dir / "m.safetensors", {{"__metadata__", patterned(DType::U8, {1}, 0)}}),
               Error);
  EXPECT_THROW(write_safetensors(dir / "b.safetensors", {{"bad\xff", patterned(DType::U8, {1}, 0)}}),
               Error);
  EXPECT_TRUE(list_dir(dir.path()).empty()) << "nothing written, no temp files";
}

TEST(Safetensors, AtomicWriteIntoADirectoryFailsCleanly) {
  TempDir dir;
  fs::create_directory(dir / "target.safetensors");
  try {
    write_safetensors(dir / "target.safetensors", {{"t", patterned(DType::F32, {4}, 0)}});
    ADD_FAILURE() << "writing over a directory succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(dir / "target.safetensors"));
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"target.safetensors"}) << "no temp files";
}

TEST(Safetensors, AtomicWriteMissingParentFails) {
  TempDir dir;
  try {
    write_safetensors(dir / "no" / "such" / "x.safetensors", {});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(Safetensors, AtomicOverwriteReplacesWholeFile) {
  TempDir dir;
  write_safetensors(dir / "w.safetensors", {{"big", patterned(DType::F32, {1000}, 0)}});
  write_safetensors(dir / "w.safetensors", {{"small", patterned(DType::U8, {3}, 1)}});
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"w.safetensors"});
  TensorFile tf = read_safetensors(dir / "w.safetensors");
  ASSERT_EQ(tf.tensors.size(), 1u);
  EXPECT_EQ(tf.tensors.count("small"), 1u);
}

TEST(Safetensors, AtomicWriteIntoReadOnlyDirectoryKeepsTarget) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: directory permissions are not enforced";
  TempDir dir;
  fs::create_directory(dir / "ro");
  write_safetensors(dir / "ro" / "w.safetensors", {{"keep", patterned(DType::U8, {3}, 1)}});
  const std::string before = testing::read_file(dir / "ro" / "w.safetensors");
  ::chmod((dir / "ro").c_str(), 0555);
  EXPECT_THROW(write_safetensors(dir / "ro" / "w.safetensors", {{"new", patterned(DType::U8, {9}, 2)}}),
               Error);
  ::chmod((dir / "ro").c_str(), 0755);
  EXPECT_EQ(testing::read_file(dir / "ro" / "w.safetensors"), before);
  EXPECT_EQ(list_dir(dir / "ro"), std::vector<std::string>{"w.safetensors"});
}

// ---------------------------------------------------------------------------------------------
// validation

const std::string kA = entry("F32", "[2]", 0, 8);

TEST(SafetensorsValidation, Truncated) {
  expect_parse_error("", "truncated file");
  expect_parse_error(std::string("\x10\x00\x00", 3), "truncated file");
  std::string f = make_file("{\"a\":" + kA + "}", std::string(8, '\0'));
  expect_parse_error(f.substr(0, 20), "truncated file");           // header cut short
  expect_parse_error(f.substr(0, f.size() - 1), "truncated file");  // data cut short
}

TEST(SafetensorsValidation, HeaderTooLarge) {
  std::string f(16, '\0');
  const uint64_t n = 100'000'001;
  for (int i = 0; i < 8; ++i) f[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  expect_parse_error(f, "header too large");
  for (int i = 0; i < 8; ++i) f[i] = '\xff';
  expect_parse_error(f, "header too large");
}

TEST(SafetensorsValidation, HeaderStart) {
  expect_parse_error(make_file(" {}", ""), "must start with '{'");
  expect_parse_error(make_file("[]", ""), "must start with '{'");
  expect_parse_error(make_file("", ""), "must start with '{'");
}

TEST(SafetensorsValidation, BadJson) {
  expect_parse_error(make_file("{\"a\":", ""), "not valid JSON");
  expect_parse_error(make_file("{\"a\":1,}", ""), "not valid JSON");
  expect_parse_error(make_file("{} x", ""), "not valid JSON");                 // trailing junk
  expect_parse_error(make_file("{\"\xff\xfe\":{}}", ""), "not valid JSON");    // invalid UTF-8
  expect_parse_error(make_file("{\"a\":\"\xc3\x28\"}", ""), "not valid JSON");  // bad sequence
  std::string nul_header("{}\0\0", 4);
  expect_parse_error(make_file(nul_header, ""), "not valid JSON");
  std::string deep = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  expect_parse_error(make_file(deep, ""), "nested too deeply");
}

TEST(SafetensorsValidation, EntryShape) {
  const std::string d(8, '\0');
  expect_parse_error(make_file("{\"a\":5}", d), "not an object");
  expect_parse_error(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", d), "missing 'data_offsets'");
  expect_parse_error(
      make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", d),
      "unexpected key 'x'");
  expect_parse_error(make_file("{\"a\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", d),
                     "dtype must be a string");
  expect_parse_error(make_file("{\"a\":" + entry("F32", "\"2\"", 0, 8) + "}", d), "shape must be");
  expect_parse_error(make_file("{\"a\":" + entry("F32", "[2.0]", 0, 8) + "}", d), "shape must be");
  expect_parse_error(make_file("{\"a\":" + entry("F32", "[true]", 0, 8) + "}", d), "shape must be");
  expect_parse_error(
      make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", d), "data_offsets");
  expect_parse_error(
      make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", d), "data_offsets");
  expect_parse_error(
      make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,8]}}", d), "data_offsets");
  expect_parse_error(
      make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{\"b\":0}}}", d), "data_offsets");
}

TEST(SafetensorsValidation, UnknownDtype) {
  expect_parse_error(make_file("{\"a\":" + entry("F8", "[2]", 0, 2) + "}", std::string(2, '\0')),
                     "unknown dtype 'F8'");
  expect_parse_error(make_file("{\"a\":" + entry("f32", "[2]", 0, 8) + "}", std::string(8, '\0')),
                     "unknown dtype");
}

TEST(SafetensorsValidation, NegativeDim) {
  expect_parse_error(make_file("{\"a\":" + entry("F32", "[-2]", 0, 8) + "}", std::string(8, '\0')),
                     "negative dimension");
}

TEST(SafetensorsValidation, Overflow) {
  // 2^32 * 2^32 elements: numel * size overflows 64 bits.
  expect_parse_error(
      make_file("{\"a\":" + entry("F32", "[4294967296,4294967296]", 0, 8) + "}", std::string(8, '\0')),
      "overflows");
  expect_parse_error(
      make_file("{\"a\":" + entry("U8", "[18446744073709551615]", 0, 8) + "}", std::string(8, '\0')),
      "too large");
}

TEST(SafetensorsValidation, SizeMismatch) {
  expect_parse_error(make_file("{\"a\":" + entry("F32", "[2]", 0, 12) + "}", std::string(12, '\0')),
                     "size mismatch");
  expect_parse_error(make_file("{\"a\":" + entry("F16", "[2,2]", 0, 4) + "}", std::string(4, '\0')),
                     "size mismatch");
  expect_parse_error(make_file("{\"a\":" + entry("F32", "[2]", 8, 0) + "}", std::string(8, '\0')),
                     "begin > end");
}

TEST(SafetensorsValidation, OffsetsGap) {
  // A hole between two tensors.
  expect_parse_error(make_file("{\"a\":" + kA + ",\"b\":" + entry("F32", "[1]", 12, 16) + "}",
                               std::string(16, '\0')),
                     "offsets gap");
  // The first tensor not at 0.
  expect_parse_error(make_file("{\"a\":" + entry("F32", "[2]", 4, 12) + "}", std::string(12, '\0')),
                     "offsets gap");
  // Trailing bytes after the last tensor.
  expect_parse_error(make_file("{\"a\":" + kA + "}", std::string(9, '\0')), "offsets gap");
  expect_parse_error(make_file("{}", "x"), "offsets gap");
}

TEST(SafetensorsValidation, OffsetsOverlap) {
  expect_parse_error(make_file("{\"a\":" + kA + ",\"b\":" + entry("F32", "[2]", 4, 12) + "}",
                               std::string(12, '\0')),
                     "overlap");
  expect_parse_error(make_file("{\"a\":" + kA + ",\"b\":" + kA + "}", std::string(8, '\0')), "overlap");
}

TEST(SafetensorsValidation, DuplicateName) {
  expect_parse_error(make_file("{\"a\":" + kA + ",\"a\":" + entry("F32", "[2]", 8, 16) + "}",
                               std::string(16, '\0')),
                     "duplicate tensor name 'a'");
  expect_parse_error(
      make_file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                std::string(8, '\0')),
      "duplicate key 'dtype'");
}

TEST(SafetensorsValidation, Metadata) {
  const std::string d(8, '\0');
  expect_parse_error(make_file("{\"__metadata__\":[],\"a\":" + kA + "}", d), "__metadata__");
  expect_parse_error(make_file("{\"__metadata__\":{\"n\":1},\"a\":" + kA + "}", d), "__metadata__");
  expect_parse_error(make_file("{\"__metadata__\":{\"n\":null},\"a\":" + kA + "}", d), "__metadata__");
  EXPECT_NO_THROW(parse(make_file("{\"__metadata__\":{},\"a\":" + kA + "}", d)));
}

TEST(SafetensorsValidation, ReadFileErrorsNameTheFile) {
  TempDir dir;
  try {
    read_safetensors(dir / "missing.safetensors");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
  }
  EXPECT_THROW(read_safetensors(dir.path()), Error);  // a directory
  testing::write_file(dir / "short.safetensors", "abc");
  try {
    read_safetensors(dir / "short.safetensors");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("short.safetensors: truncated file"), std::string::npos)
        << e.what();
  }
  testing::write_file(dir / "empty.safetensors", "");
  EXPECT_THROW(read_safetensors(dir / "empty.safetensors"), Error);
}

// ---------------------------------------------------------------------------------------------
// robustness: mutated and random inputs only ever succeed or throw ernie::Error

// Parses `bytes`; on success checks the result is self-consistent. Returns false on a failure
// other than ernie::Error.
bool parse_is_safe(const std::string& bytes, int iteration) {
  try {
    TensorFile tf = parse(bytes);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
    uint64_t total = 0;
    for (const auto& [name, t] : tf.tensors) {
      total += t.nbytes();
      volatile uint8_t sink = 0;  // touch every byte: must be readable
      for (size_t i = 0; i < t.nbytes(); ++i) sink = sink + static_cast<const uint8_t*>(t.raw())[i];
    }
    EXPECT_EQ(total, bytes.size() - 8 - n) << "iteration " << iteration;
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << "iteration " << iteration << ": non-ernie exception: " << e.what();
    return false;
  }
  return true;
}

std::string valid_sample() {
  std::map<std::string, Tensor> tensors = {{"emb.weight", patterned(DType::F32, {6, 4}, 1)},
                                           {"emb.bias", patterned(DType::BF16, {4}, 2)},
                                           {"ids", patterned(DType::I64, {3}, 3)},
                                           {"mask", patterned(DType::Bool, {5}, 4)},
                                           {"empty", patterned(DType::F16, {0, 2}, 5)}};
  TempDir dir;
  write_safetensors(dir / "v.safetensors", tensors);
  return testing::read_file(dir / "v.safetensors");
}

TEST(SafetensorsFuzz, MutationsNeverCrash) {
  const std::string valid = valid_sample();
  ASSERT_NO_THROW(parse(valid));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(valid[i]);
  const size_t header_end = 8 + n;

  std::mt19937_64 rng(12345);
  auto pick = [&](size_t lo, size_t hi) {  // inclusive
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  const char interesting[] = "{}[]\":,-0123456789eE. \\ufFIBU\x00\xff\xc3";
  int succeeded = 0;
  for (int it = 0; it < 4000; ++it) {
    std::string m = valid;
    const int edits = 1 + static_cast<int>(pick(0, 3));
    for (int e = 0; e < edits; ++e) {
      // Most edits land in the header, where the parsing logic is.
      const size_t pos = pick(0, 3) ? pick(0, std::min(header_end, m.size()) - 1) : pick(0, m.size() - 1);
      switch (pick(0, 6)) {
        case 0: m[pos] = static_cast<char>(m[pos] ^ (1 << pick(0, 7))); break;
        case 1: m[pos] = interesting[pick(0, sizeof interesting - 2)]; break;
        case 2: m.erase(pos, pick(1, 8)); break;
        case 3: m.insert(pos, 1, interesting[pick(0, sizeof interesting - 2)]); break;
        case 4: m.resize(pick(0, m.size())); break;
        case 5: m[pick(0, 7)] = static_cast<char>(pick(0, 255)); break;  // the length field
        case 6: {  // an offset or dimension digit string replaced by a large or odd number
          const char* nums[] = {"18446744073709551616", "-1", "99999999999", "0", "1e3", "4294967296"};
          const size_t digit = m.find_first_of("0123456789", 8 + pick(0, n - 1));
          if (digit < header_end) m.replace(digit, 1, nums[pick(0, 5)]);
          break;
        }
      }
      if (m.empty()) break;
    }
    ASSERT_TRUE(parse_is_safe(m, it));
    try {
      parse(m);
      ++succeeded;
    } catch (const Error&) {
    }
  }
  // Some mutations (e.g. in the data area) keep the file valid; most must be rejected.
  EXPECT_GT(succeeded, 0);
  EXPECT_LT(succeeded, 4000);
}

TEST(SafetensorsFuzz, RandomBytesNeverCrash) {
  std::mt19937_64 rng(777);
  for (int it = 0; it < 2000; ++it) {
    const size_t len = std::uniform_int_distribution<size_t>(0, 96)(rng);
    std::string m(len, '\0');
    for (char& c : m) c = static_cast<char>(rng());
    if (len >= 9 && it % 2 == 0) {  // a plausible length prefix and '{' half the time
      const uint64_t n = std::uniform_int_distribution<uint64_t>(1, len - 8)(rng);
      for (int i = 0; i < 8; ++i) m[i] = static_cast<char>((n >> (8 * i)) & 0xff);
      m[8] = '{';
    }
    ASSERT_TRUE(parse_is_safe(m, it));
  }
}

TEST(SafetensorsFuzz, MutatedFilesThroughTheReader) {
  // The mmap path, on a smaller sample of mutations.
  const std::string valid = valid_sample();
  TempDir dir;
  std::mt19937_64 rng(99);
  for (int it = 0; it < 200; ++it) {
    std::string m = valid;
    const size_t pos = std::uniform_int_distribution<size_t>(0, m.size() - 1)(rng);
    if (it % 3 == 0) m.resize(pos);
    else m[pos] = static_cast<char>(rng());
    testing::write_file(dir / "m.safetensors", m);
    try {
      read_safetensors(dir / "m.safetensors");
    } catch (const Error&) {
    } catch (const std::exception& e) {
      FAIL() << "iteration " << it << ": non-ernie exception: " << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the shared golden checkpoint (written by Hugging Face safetensors)

TEST(SafetensorsGolden, BertMlmCheckpoint) {
  SKIP_WITHOUT_SHARED();
  const fs::path p = testing::shared_dir() / "golden" / "bert_mlm" / "model" / "model.safetensors";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is absent";
  TensorFile tf = read_safetensors(p);
  const Tensor& we = tf.tensors.at("bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(we.dtype(), DType::F32);
  EXPECT_EQ(we.shape(), (Shape{3000, 32}));
  EXPECT_EQ(tf.tensors.at("bert.embeddings.position_embeddings.weight").shape(), (Shape{64, 32}));
  EXPECT_EQ(tf.tensors.at("bert.encoder.layer.1.intermediate.dense.weight").shape(), (Shape{64, 32}));
  EXPECT_EQ(tf.tensors.at("cls.predictions.bias").shape(), Shape{3000});
  EXPECT_EQ(tf.metadata.at("format"), "pt");
  // Values are finite and a LayerNorm weight is near 1 (initialized to ones, lightly trained).
  const Tensor ln = tf.tensors.at("bert.embeddings.LayerNorm.weight");
  double sum = 0;
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(std::isfinite(ln.data<float>()[i]));
    sum += ln.data<float>()[i];
  }
  EXPECT_NEAR(sum / 32, 1.0, 0.5);

  // Writing it back and re-reading reproduces every tensor.
  TempDir dir;
  write_safetensors(dir / "copy.safetensors", tf.tensors, tf.metadata);
  TensorFile again = read_safetensors(dir / "copy.safetensors");
  ASSERT_EQ(again.tensors.size(), tf.tensors.size());
  for (const auto& [name, t] : tf.tensors) EXPECT_EQ(tensor_bytes(again.tensors.at(name)), tensor_bytes(t));
}

}  // namespace
}  // namespace ernie

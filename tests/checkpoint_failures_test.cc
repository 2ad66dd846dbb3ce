// Damaged and hostile checkpoints: each gives one line naming the file and the problem, a
// non-zero exit from the CLI, and never a crash, a hang, a big allocation or a file written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "ernie/checkpoint.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace ernie;
using ernie::testing::error_of;
using ernie::testing::fixtures_dir;
using ernie::testing::run_cli;
using ernie::testing::TempDir;

namespace {

fs::path ckpt(const std::string& name) { return fixtures_dir() / "checkpoints" / name; }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

std::string pickle_error(const std::string& bytes, const ReadLimits& limits = {}) {
  return error_of([&] { parse_pdparams(bytes.data(), bytes.size(), "x.pdparams", limits); });
}

// CLI: exit 1, exactly one line on stderr.
void expect_cli_error(const std::string& args, const std::string& message) {
  const auto r = run_cli(args);
  EXPECT_EQ(r.status, 1) << args;
  EXPECT_EQ(r.err, "ernie: error: " + message + "\n") << args;
}

}  // namespace

TEST(CheckpointFailures, DisallowedGlobalsAreRefusedByName) {
  const fs::path sys = ckpt("files/evil_os_system.pdparams"), ev = ckpt("files/evil_eval_p4.pdparams");
  expect_cli_error("inspect " + q(sys), sys.string() +
                                            ": pickle calls a disallowed global os.system (only numpy arrays, torch tensors "
                                            "and plain containers are accepted) (pickle offset 13)");
  expect_cli_error("inspect " + q(ev), ev.string() +
                                           ": pickle calls a disallowed global builtins.eval (only numpy arrays, torch "
                                           "tensors and plain containers are accepted) (pickle offset 30)");
  // Refused when the name is read, before any argument is built: even with no arguments following.
  EXPECT_EQ(pickle_error(std::string("\x80\x02" "cposix\nsystem\n", 16)),
            "x.pdparams: pickle calls a disallowed global posix.system (only numpy arrays, torch tensors and plain "
            "containers are accepted) (pickle offset 16)");
  // Object construction opcodes are refused too.
  EXPECT_EQ(pickle_error(std::string("\x80\x02)\x81.", 5)),
            "x.pdparams: pickle constructs an object with opcode 0x81 (refused: only plain data is accepted) (pickle offset 4)");
}

TEST(CheckpointFailures, MalformedPicklesGiveOneLine) {
  // Truncated: a real file cut in half.
  const std::string full = ernie::testing::read_file(ckpt("files/p3.pdparams"));
  EXPECT_EQ(pickle_error(full.substr(0, 150)).rfind("x.pdparams: truncated pickle: ", 0), 0u) << pickle_error(full.substr(0, 150));
  EXPECT_EQ(pickle_error(std::string("\x80\x02}", 3)), "x.pdparams: truncated pickle: no STOP opcode (pickle offset 3)");
  // A 100-byte file claiming an 8 GB string: refused without allocating it.
  std::string big("\x80\x04\x8e\x00\x00\x00\x00\x02\x00\x00\x00", 11);
  big.resize(100, 'x');
  EXPECT_EQ(pickle_error(big),
            "x.pdparams: truncated pickle: a bytes of 8589934592 bytes but only 89 left (pickle offset 11)");
  EXPECT_EQ(pickle_error(std::string("\x80\x02h\x07.", 5)),
            "x.pdparams: pickle reads memo entry 7 that was never stored (pickle offset 4)");
  EXPECT_EQ(pickle_error(std::string("\x80\x02R.", 4)), "x.pdparams: pickle stack underflow (pickle offset 3)");
  EXPECT_EQ(pickle_error(std::string("\x80\x02N}.", 5)),
            "x.pdparams: pickle ends with 2 values on the stack, not 1 (pickle offset 5)");
  EXPECT_EQ(pickle_error(std::string("\x80\x02\xff.", 4)), "x.pdparams: invalid pickle opcode 0xff (pickle offset 3)");
  EXPECT_EQ(pickle_error(std::string("\x80\x09}.", 4)), "x.pdparams: unsupported pickle protocol 9 (pickle offset 2)");
  EXPECT_EQ(pickle_error(std::string("\x80\x02N.", 4)), "x.pdparams: the pickle holds a None, not a dict of arrays");
  EXPECT_EQ(pickle_error("PK\x03\x04"), "x.pdparams: not a pickle (first byte is not the PROTO opcode)");
  // Deep nesting: 200 lists inside each other.
  std::string deep("\x80\x02", 2);
  deep += std::string(200, ']');
  deep += std::string(199, 'a');
  deep += '.';
  EXPECT_EQ(pickle_error(deep), "x.pdparams: pickle nests containers deeper than 64 (pickle offset 266)");
  // Opcode and memo limits.
  ReadLimits tight;
  tight.max_pickle_ops = 10;
  std::string many("\x80\x02", 2);
  many += std::string(20, 'N');
  EXPECT_EQ(pickle_error(many, tight), "x.pdparams: pickle runs more than 10 opcodes (pickle offset 11)");
  tight = {};
  tight.max_memo = 2;
  EXPECT_EQ(pickle_error(std::string("\x80\x04N\x94\x94\x94.", 7), tight),
            "x.pdparams: pickle memo exceeds 2 entries (pickle offset 6)");
  // Shape and data disagree.
  const fs::path bad = ckpt("files/bad_shape.pdparams");
  expect_cli_error("inspect " + q(bad), bad.string() + ": array 'w': shape [3, 3] F32 needs 36 bytes but the data has 24");
}

TEST(CheckpointFailures, HostileZipsAndTorchFiles) {
  const auto path = [](const char* n) { return ckpt(std::string("files/") + n); };
  expect_cli_error("inspect " + q(path("zip_traversal.bin")),
                   path("zip_traversal.bin").string() + ": zip entry '../../x' has an unsafe name (refused)");
  EXPECT_FALSE(fs::exists(fixtures_dir() / "x"));
  expect_cli_error("inspect " + q(path("legacy.bin")),
                   path("legacy.bin").string() +
                       ": legacy PyTorch (pre-1.6) serialization is not supported; re-save it with PyTorch >= 1.6 "
                       "(torch.save(torch.load(old), new)) or convert it to safetensors");
  expect_cli_error("inspect " + q(path("view_oob.bin")),
                   path("view_oob.bin").string() +
                       ": tensor 'w': view (offset 0, size [2, 3], stride [3, 1]) reaches element 5 of a storage of 4");
  expect_cli_error("inspect " + q(path("storage_short.bin")),
                   path("storage_short.bin").string() +
                       ": storage 'archive/data/0' has 12 bytes but the pickle says 4 x F32 = 16");
  expect_cli_error("inspect " + q(path("missing_storage.bin")),
                   path("missing_storage.bin").string() + ": tensor 'w' needs storage 'archive/data/0', which is missing");
  expect_cli_error("inspect " + q(path("no_pickle.bin")),
                   path("no_pickle.bin").string() + ": zip has no data.pkl (not a torch.save checkpoint)");

  // A truncated zip and zip garbage.
  const std::string bin = ernie::testing::read_file(ckpt("ernie_seqcls_bin/pytorch_model.bin"));
  EXPECT_EQ(error_of([&] { parse_torch_zip(bin.data(), bin.size() / 2, "t.bin"); }),
            "t.bin: not a valid zip archive: Not a zip archive");
  const std::string junk = "PK\x03\x04" + std::string(60, '\x01');
  EXPECT_EQ(error_of([&] { parse_torch_zip(junk.data(), junk.size(), "j.bin"); }),
            "j.bin: not a valid zip archive: Not a zip archive");
}

TEST(CheckpointFailures, DamagedSafetensorsAndUnknownFiles) {
  TempDir tmp;
  ernie::testing::write_file(tmp / "short.safetensors", std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
  EXPECT_EQ(error_of([&] { read_checkpoint_file(tmp / "short.safetensors"); }).rfind((tmp / "short.safetensors").string() + ": ", 0), 0u);
  ernie::testing::write_file(tmp / "what.bin", "hello world, not a checkpoint");
  EXPECT_EQ(error_of([&] { read_checkpoint_file(tmp / "what.bin"); }),
            (tmp / "what.bin").string() + ": unknown file type (not safetensors, a PyTorch zip, a pickle or an index)");
  ernie::testing::write_file(tmp / "empty.pdparams", "");
  EXPECT_EQ(error_of([&] { read_checkpoint_file(tmp / "empty.pdparams"); }), (tmp / "empty.pdparams").string() + ": empty file");
}

TEST(CheckpointFailures, ShardedIndexProblems) {
  TempDir tmp;
  const fs::path src = ckpt("ernie_seqcls_sharded_st");
  fs::copy(src, tmp / "m");
  const fs::path index = tmp / "m" / "model.safetensors.index.json";
  ernie::testing::write_file(index, R"({"weight_map": {"a": "../evil.safetensors"}})");
  EXPECT_EQ(error_of([&] { read_checkpoint_dir(tmp / "m"); }),
            index.string() + ": shard name '../evil.safetensors' is not a plain file name (refused)");
  ernie::testing::write_file(index, R"({"weight_map": {"a": "gone.safetensors"}})");
  EXPECT_EQ(error_of([&] { read_checkpoint_dir(tmp / "m"); }), index.string() + ": shard gone.safetensors is missing");
  ernie::testing::write_file(index, R"({"weight_map": {"nope": "model-00001-of-00002.safetensors"}})");
  EXPECT_EQ(error_of([&] { read_checkpoint_dir(tmp / "m"); }),
            index.string() + ": tensor 'nope' is not in its shard model-00001-of-00002.safetensors");
  ernie::testing::write_file(index, "{not json");
  EXPECT_EQ(error_of([&] { read_checkpoint_dir(tmp / "m"); }).rfind(index.string() + ": not valid JSON: ", 0), 0u);
}

TEST(CheckpointFailures, ModelLevelProblemsNameTheTensorOrFile) {
  TempDir tmp;
  const fs::path src = ckpt("ernie_seqcls_paddle_st");
  TensorFile st = read_safetensors(src / "model.safetensors");
  // Missing tensor (PaddleNLP names in the file, HF name in the message: what the model needs).
  auto missing = st.tensors;
  missing.erase("ernie.encoder.layers.1.linear2.weight");
  fs::create_directories(tmp / "missing");
  fs::copy(src / "config.json", tmp / "missing" / "config.json");
  write_safetensors(tmp / "missing" / "model.safetensors", missing, {{"format", "np"}});
  expect_cli_error("run --model " + q(tmp / "missing") + " --ids '[[1,2]]'",
                   "checkpoint is missing tensor ernie.encoder.layer.1.output.dense.weight [28, 56] (needed by ernie "
                   "ForSequenceClassification)");
  // NaN weights.
  auto nan = st.tensors;
  Tensor w = nan.at("ernie.encoder.layers.0.linear1.weight").to_f32();
  w.data<float>()[3] = std::nanf("");
  nan["ernie.encoder.layers.0.linear1.weight"] = w;
  fs::create_directories(tmp / "nan");
  fs::copy(src / "config.json", tmp / "nan" / "config.json");
  write_safetensors(tmp / "nan" / "model.safetensors", nan, {{"format", "np"}});
  const auto r = run_cli("run --model " + q(tmp / "nan") + " --ids '[[1,2]]'");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ernie: error: tensor ernie.encoder.layer.0.intermediate.dense.weight contains NaN at index 84\n");
  // Missing and malformed config.json.
  fs::create_directories(tmp / "noconfig");
  fs::copy(src / "model.safetensors", tmp / "noconfig" / "model.safetensors");
  const auto nc = run_cli("run --model " + q(tmp / "noconfig") + " --ids '[[1,2]]'");
  EXPECT_EQ(nc.status, 1);
  EXPECT_NE(nc.err.find("config.json"), std::string::npos) << nc.err;
  ernie::testing::write_file(tmp / "noconfig" / "config.json", "{\"hidden_size\": ");
  const auto bc = run_cli("run --model " + q(tmp / "noconfig") + " --ids '[[1,2]]'");
  EXPECT_EQ(bc.status, 1);
  EXPECT_NE(bc.err.find("config.json"), std::string::npos) << bc.err;
  // No weights at all.
  fs::create_directories(tmp / "empty");
  fs::copy(src / "config.json", tmp / "empty" / "config.json");
  expect_cli_error("run --model " + q(tmp / "empty") + " --ids '[[1,2]]'",
                   (tmp / "empty").string() +
                       ": no weights (looked for model.safetensors, pytorch_model.bin, model_state.pdparams and their "
                       ".index.json)");
}

// Every byte prefix of small real files: an error or a result, never a crash (ASan/UBSan builds
// and the fuzzers go further).
TEST(CheckpointFailures, EveryTruncationOfSmallFilesIsHandled) {
  for (const char* f : {"files/p3.pdparams", "files/p5.pdparams", "files/view_ok.bin"}) {
    const std::string data = ernie::testing::read_file(ckpt(f));
    for (size_t n = 0; n < data.size(); ++n) {
      try {
        if (data[0] == 'P') parse_torch_zip(data.data(), n, "t");
        else parse_pdparams(data.data(), n, "t");
      } catch (const Error&) {
      }
    }
  }
}

// Inputs the fuzzers found crashing (fixed since): each must now give an ernie::Error.
TEST(CheckpointFailures, FuzzRegressions) {
  const fs::path dir = ernie::testing::source_dir() / "fuzz" / "checkpoint" / "regressions";
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string data = ernie::testing::read_file(e.path());
    const std::string msg = error_of([&] {
      if (data.rfind("PK", 0) == 0) parse_torch_zip(data.data(), data.size(), "r");
      else if (!data.empty() && static_cast<uint8_t>(data[0]) == 0x80) parse_pdparams(data.data(), data.size(), "r");
      else parse_safetensors(data.data(), data.size(), "r");
    });
    EXPECT_EQ(msg.rfind("r: ", 0), 0u) << e.path() << ": " << msg;
    ++n;
  }
  EXPECT_GT(n, 0);
}

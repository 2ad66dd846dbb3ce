// Sharded batch inference: `ernie embed` and `ernie classify --input/--output`. Lines split by
// byte range have exactly one owner for any rank count; embeddings equal pooling computed
// independently from `ernie run`; and `mpirun -np 2` writes the same bytes as one process (the
// ranks run the batches one process forms, on one thread each here as there), including ranks without lines, empty files, CRLF, a last line without '\n' and invalid UTF-8.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <regex>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ernie/safetensors.h"
#include "ernie/tokenizer.h"
#include "pipeline/lines.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ernie::testing::CliResult;
using ernie::testing::read_file;
using ernie::testing::run_cli;
using ernie::testing::TempDir;
using ernie::testing::write_file;

// `ernie ARGS` in one process (ranks 1) or under mpirun.
CliResult run_ranks(int ranks, const std::string& args) {
  return ranks == 1 ? run_cli(args) : ernie::testing::run_shell(ernie::testing::mpirun_prefix(ranks) + args);
}

// Small ERNIE models from `ernie init`: a 3-label classifier and a tagger, with a vocab of ASCII
// words, letters and CJK characters.
struct Models {
  TempDir tmp;
  fs::path classifier = tmp / "classifier", tagger = tmp / "tagger";
  Models() {
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (const char* w : {"hello", "world", "news", "today", "sports", "game", "last", "line", "just", "one",
                          "##s", "##ing", "今", "天", "气", "真", "好", "新", "闻", "体", "育", "的"})
      vocab += std::string(w) + "\n";
    for (char c = 'a'; c <= 'z'; ++c) vocab += std::string(1, c) + "\n";
    const size_t size = static_cast<size_t>(std::count(vocab.begin(), vocab.end(), '\n'));
    write_file(tmp / "vocab.txt", vocab);
    make(classifier, "ErnieForSequenceClassification", size, R"({"0": "news", "1": "sports", "2": "other"})");
    make(tagger, "ErnieForTokenClassification", size, R"({"0": "O", "1": "B-X", "2": "I-X"})");
  }
  void make(const fs::path& dir, const std::string& arch, size_t vocab_size, const std::string& labels) {
    const fs::path cfg = tmp / (arch + ".json");
    write_file(cfg, R"({"architectures": [")" + arch + R"("], "model_type": "ernie", "vocab_size": )" +
                        std::to_string(vocab_size) +
                        R"(, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
      "intermediate_size": 64, "max_position_embeddings": 64, "type_vocab_size": 2, "hidden_act": "gelu",
      "initializer_range": 0.2, "pad_token_id": 0, "id2label": )" + labels + "}");
    const auto r = run_cli("init --config " + cfg.string() + " --seed 7 --vocab " + (tmp / "vocab.txt").string() +
                           " --out " + dir.string());
    if (r.status != 0) throw std::runtime_error("ernie init failed: " + r.err);
  }
};

const Models& models() {
  static Models m;
  return m;
}

// Inputs that move the byte-range boundaries around lines; "one_line" and "empty" leave a rank
// without lines, "boundary" puts rank 1's first byte exactly at a line start.
std::vector<std::pair<std::string, std::string>> inputs() {
  std::string mixed, long_lines;
  for (int i = 0; i < 60; ++i)
    mixed += (i % 7 == 3 ? std::string() : "hello world news " + std::string(i % 13, 'a') + " 今天 " +
                                               std::to_string(i)) + (i % 5 == 0 ? "\r\n" : "\n");
  for (int i = 0; i < 12; ++i) long_lines += std::string(150000 + 977 * i, "abcdefgh"[i % 8]) + " sports\n";
  return {{"crlf", "hello world\r\nnews today\r\n\r\n今天天气真好\r\n"},
          {"no_final_newline", "a b c\nsports news\nlast line"},
          {"one_line", "just one\n"},
          {"empty", ""},
          {"blank_lines", "\n\n\n"},
          {"boundary", "abcd\nefgh\n"},
          {"mixed", mixed},
          {"long_lines", long_lines}};
}

// The lines of `text` as the batch commands read them.
std::vector<std::string> reference_lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    const bool ended = nl != std::string::npos;
    if (!ended) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (ended && !line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
    pos = nl + 1;
  }
  return out;
}

TEST(DistInferLines, EveryLineHasOneOwnerWhateverTheRankCount) {
  TempDir tmp;
  std::mt19937 rng(5);
  auto cases = inputs();
  std::string big;   // lines across the reader's 1 MiB chunks, '\r' right before chunk ends
  while (big.size() < 3'500'000) {
    big += std::string(rng() % 400000, 'x');
    big += rng() % 2 ? "\r\n" : "\n";
    if (rng() % 3 == 0) big += "\n";
  }
  cases.push_back({"big", big});
  cases.push_back({"cr_without_newline", "a\r\nb\r"});
  for (const auto& [name, text] : cases) {
    const fs::path file = tmp / name;
    write_file(file, text);
    const auto expected = reference_lines(text);
    for (int size = 1; size <= 5; ++size) {
      // plan_lines for each rank, without a job: the local counts, then each rank's place.
      std::vector<ernie::pipeline::LineShard> shards;
      int64_t total = 0;
      for (int rank = 0; rank < size; ++rank) {
        shards.push_back(ernie::pipeline::local_lines(file.string(), rank, size));
        shards.back().first_line = total;
        total += shards.back().lines;
      }
      std::vector<std::string> all;
      for (auto& shard : shards) {
        shard.total_lines = total;
        ernie::pipeline::LineReader reader(shard);
        std::vector<std::string> mine;
        while (reader.next_batch(3, mine)) all.insert(all.end(), mine.begin(), mine.end());
        EXPECT_EQ(static_cast<int64_t>(all.size()), shard.first_line + shard.lines) << name << " of " << size;
      }
      EXPECT_EQ(all, expected) << name << " with " << size << " ranks";
      // Batches of 2: the same batches as one process, each run by one rank.
      std::vector<std::vector<std::string>> batches;
      for (const auto& shard : shards) {
        ernie::pipeline::BatchReader reader(shard, 2);
        EXPECT_EQ(reader.first_line(), std::min<int64_t>(total, static_cast<int64_t>(batches.size()) * 2)) << name << " of " << size;
        for (std::vector<std::string> b; reader.next(b);) batches.push_back(b);
      }
      ASSERT_EQ(batches.size(), (expected.size() + 1) / 2) << name << " of " << size;
      for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(batches[i / 2][i % 2], expected[i]);
    }
    // A whole stream (stdin) reads the same lines.
    const int fd = ::open(file.c_str(), O_RDONLY);
    ernie::pipeline::LineReader reader(fd);
    std::vector<std::string> all;
    for (std::string line; reader.next(line);) all.push_back(line);
    ::close(fd);
    EXPECT_EQ(all, expected) << name << " as a stream";
  }
}

// float32 [rows, H] from an .npy file (checked to be format 1.0, '<f4', C order).
std::vector<float> load_npy(const fs::path& file, int64_t* rows, int64_t* cols) {
  const std::string b = read_file(file);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hlen = static_cast<unsigned char>(b[8]) | static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8;
  EXPECT_EQ((10 + hlen) % 64, 0u);
  std::smatch m;
  const std::string header = b.substr(10, hlen);
  EXPECT_TRUE(std::regex_search(header, m, std::regex(R"(^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n$)")))
      << header;
  *rows = std::stoll(m[1]);
  *cols = std::stoll(m[2]);
  std::vector<float> v(static_cast<size_t>(*rows * *cols));
  EXPECT_EQ(b.size(), 10 + hlen + v.size() * 4);
  if (b.size() == 10 + hlen + v.size() * 4) std::memcpy(v.data(), b.data() + 10 + hlen, v.size() * 4);
  return v;
}

// Mean (or first-token) pooling of `ernie run`'s last_hidden_state for each line: the reference.
std::vector<float> pooled_by_run(const fs::path& model, const std::vector<std::string>& lines, bool mean,
                                 const fs::path& tmp) {
  const auto tok = ernie::Tokenizer::from_folder(model);
  std::string ids = "[";
  std::vector<size_t> lens;
  for (const auto& l : lines) {
    const auto e = tok.encode(l, {.max_length = 64});
    lens.push_back(e.ids.size());
    ids += (ids.size() > 1 ? ",[" : "[");
    for (size_t i = 0; i < e.ids.size(); ++i) {
      if (i) ids += ',';
      ids += std::to_string(e.ids[i]);
    }
    ids += "]";
  }
  const auto r = run_cli("run --model " + model.string() + " --ids '" + ids + "]' --outputs " + (tmp / "run.safetensors").string());
  EXPECT_EQ(r.status, 0) << r.err;
  const auto f = ernie::read_safetensors(tmp / "run.safetensors");
  const ernie::Tensor& h = f.tensors.at("last_hidden_state");   // [B, L, H], zeros past each row
  const int64_t L = h.dim(1), H = h.dim(2);
  std::vector<float> out;
  for (size_t b = 0; b < lines.size(); ++b)
    for (int64_t k = 0; k < H; ++k) {
      double acc = 0;
      const size_t n = mean ? lens[b] : 1;
      for (size_t t = 0; t < n; ++t) acc += h.data<float>()[(static_cast<int64_t>(b) * L + static_cast<int64_t>(t)) * H + k];
      out.push_back(static_cast<float>(acc / static_cast<double>(n)));
    }
  return out;
}

TEST(DistInfer, EmbedEqualsPoolingOfErnieRun) {
  TempDir tmp;
  const std::string text = "hello world\nnews today 今天\n\nsports game a b c\r\n好";
  write_file(tmp / "in.txt", text);
  const auto lines = reference_lines(text);
  for (const bool mean : {true, false}) {
    const std::string pooling = mean ? "mean" : "cls";
    const auto r = run_cli("embed --model " + models().classifier.string() + " --input " + (tmp / "in.txt").string() +
                           " --output " + (tmp / "e.npy").string() + " --pooling " + pooling + " --batch 2");
    ASSERT_EQ(r.status, 0) << r.err;
    int64_t rows = 0, cols = 0;
    const auto got = load_npy(tmp / "e.npy", &rows, &cols);
    EXPECT_EQ(rows, 5);
    EXPECT_EQ(cols, 32);
    const auto want = pooled_by_run(models().classifier, lines, mean, tmp.path());
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << pooling << " value " << i;

    // The same rows as safetensors (tensor "embeddings"), and L2-normalized with --normalize.
    ASSERT_EQ(run_cli("embed --model " + models().classifier.string() + " --input " + (tmp / "in.txt").string() +
                      " --output " + (tmp / "e.safetensors").string() + " --normalize --pooling " + pooling)
                  .status,
              0);
    const auto st = ernie::read_safetensors(tmp / "e.safetensors");
    const ernie::Tensor& e = st.tensors.at("embeddings");
    ASSERT_EQ(e.shape(), (ernie::Shape{5, 32}));
    for (int64_t row = 0; row < 5; ++row) {
      double norm = 0;
      for (int64_t k = 0; k < 32; ++k) norm += std::pow(want[row * 32 + k], 2);
      for (int64_t k = 0; k < 32; ++k)
        EXPECT_NEAR(e.data<float>()[row * 32 + k], want[row * 32 + k] / std::sqrt(norm), 1e-5);
    }
  }
}

// A Python with numpy: the first python3 on PATH, else Debian's (python3-numpy); "" when none.
std::string python_with_numpy() {
  for (const char* py : {"python3", "/usr/bin/python3"})
    if (std::system((std::string(py) + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

TEST(DistInfer, EmbedNpyLoadsInNumpy) {
  const std::string py = python_with_numpy();
  if (py.empty()) GTEST_SKIP() << "numpy is absent (Debian: python3-numpy)";
  TempDir tmp;
  write_file(tmp / "in.txt", "hello world\n\n今天 sports\n");
  ASSERT_EQ(run_cli("embed --model " + models().classifier.string() + " --input " + (tmp / "in.txt").string() +
                    " --output " + (tmp / "e.npy").string() + " --pooling mean")
                .status,
            0);
  const auto r = ernie::testing::run_shell(
      py + " -c 'import json, sys, numpy as np; a = np.load(sys.argv[1]); "
           "print(json.dumps({\"shape\": list(a.shape), \"dtype\": str(a.dtype), \"v\": a.ravel().tolist()}))' " +
      (tmp / "e.npy").string());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["shape"], nlohmann::json::array({3, 32}));
  EXPECT_EQ(j["dtype"], "float32");
  const auto want = pooled_by_run(models().classifier, {"hello world", "", "今天 sports"}, true, tmp.path());
  ASSERT_EQ(j["v"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(j["v"][i].get<double>(), want[i], 1e-5);
}

TEST(DistInfer, EmbedOnTwoRanksEqualsOneProcess) {
  SKIP_WITHOUT_MPIRUN();
  TempDir tmp;
  int k = 0;
  for (const auto& [name, text] : inputs()) {
    const fs::path in = tmp / (name + ".txt");
    write_file(in, text);
    const std::string ext = k % 2 ? ".safetensors" : ".npy";
    const std::string args = "embed --model " + models().classifier.string() + " --input " + in.string() +
                             (k % 2 ? " --pooling cls" : " --pooling mean --normalize") + " --batch 3 --threads 1 --output ";
    ++k;
    const auto one = run_ranks(1, args + (tmp / ("one" + ext)).string());
    ASSERT_EQ(one.status, 0) << name << ": " << one.err;
    const auto two = run_ranks(2, args + (tmp / ("two" + ext)).string());
    ASSERT_EQ(two.status, 0) << name << ": " << two.err;
    EXPECT_TRUE(read_file(tmp / ("one" + ext)) == read_file(tmp / ("two" + ext))) << name;
    if (name == "boundary") {   // three ranks: one of them without a line
      ASSERT_EQ(run_ranks(3, args + (tmp / ("three" + ext)).string()).status, 0);
      EXPECT_TRUE(read_file(tmp / ("one" + ext)) == read_file(tmp / ("three" + ext))) << name << " on 3 ranks";
    }
  }
  // Only the outputs are left: no temporary files or parts.
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(DistInfer, ClassifyFileOnTwoRanksEqualsOneProcessAndTheJsonOutput) {
  SKIP_WITHOUT_MPIRUN();
  TempDir tmp;
  for (const auto& model : {models().classifier, models().tagger}) {
    for (const auto& [name, text] : inputs()) {
      if (name == "long_lines" && model == models().tagger) continue;   // words of 150 kB: slow to tag, nothing new
      const fs::path in = tmp / (name + ".txt");
      write_file(in, text);
      const std::string args = "classify --model " + model.string() + " --input " + in.string() +
                               " --top-k 2 --batch 3 --threads 1 --output ";
      const auto one = run_ranks(1, args + (tmp / "one.jsonl").string());
      ASSERT_EQ(one.status, 0) << name << ": " << one.err;
      const auto two = run_ranks(2, args + (tmp / "two.jsonl").string());
      ASSERT_EQ(two.status, 0) << name << ": " << two.err;
      const std::string lines = read_file(tmp / "one.jsonl");
      EXPECT_EQ(lines, read_file(tmp / "two.jsonl")) << name;
      EXPECT_EQ(static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n')), reference_lines(text).size()) << name;
      // The same content as --json on stdin, line for line.
      const auto json = run_cli("classify --model " + model.string() + " --top-k 2 --batch 3 --threads 1 --json", text);
      ASSERT_EQ(json.status, 0) << json.err;
      EXPECT_EQ(lines, json.out) << name;
    }
  }
}

TEST(DistInfer, InvalidUtf8IsAnErrorNamingTheLineOrReplaced) {
  SKIP_WITHOUT_MPIRUN();
  TempDir tmp;
  // Line 4 starts in rank 1's half of the bytes: with batches of 1 line, rank 1 fails.
  write_file(tmp / "bad.txt", "hello\nworld\nsports\nnews \xff today\r\n");
  for (const int ranks : {1, 2}) {
    const std::string where = ranks == 2 ? "rank 1: " : "";
    for (const std::string cmd : {"embed", "classify"}) {
      const auto r = run_ranks(ranks, cmd + " --batch 1 --model " + models().classifier.string() + " --input " +
                                          (tmp / "bad.txt").string() + " --output " + (tmp / "out.npy").string());
      EXPECT_EQ(r.status, 1) << r.err;
      EXPECT_NE(r.err.find("ernie: error: " + where + (tmp / "bad.txt").string() + ": line 4: invalid UTF-8"),
                std::string::npos)
          << r.err;
      // No output and no temporary file or part is left behind.
      EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1) << cmd << " " << ranks;
    }
  }
  for (const int ranks : {1, 2}) {
    const std::string n = std::to_string(ranks);
    ASSERT_EQ(run_ranks(ranks, "embed --errors replace --threads 1 --model " + models().classifier.string() + " --input " +
                                   (tmp / "bad.txt").string() + " --output " + (tmp / ("e" + n + ".npy")).string())
                  .status,
              0);
    ASSERT_EQ(run_ranks(ranks, "classify --errors replace --threads 1 --model " + models().classifier.string() + " --input " +
                                   (tmp / "bad.txt").string() + " --output " + (tmp / ("c" + n + ".jsonl")).string())
                  .status,
              0);
  }
  EXPECT_TRUE(read_file(tmp / "e1.npy") == read_file(tmp / "e2.npy"));
  const std::string c1 = read_file(tmp / "c1.jsonl");
  EXPECT_EQ(c1, read_file(tmp / "c2.jsonl"));
  EXPECT_NE(c1.find("\n{\"text\":\"news \xEF\xBF\xBD today\""), std::string::npos) << c1;
}

TEST(DistInfer, BadArgumentsAreOneLineErrors) {
  TempDir tmp;
  write_file(tmp / "in.txt", "hello\n");
  const std::string model = " --model " + models().classifier.string();
  auto r = run_cli("embed" + model + " --input " + (tmp / "in.txt").string() + " --output " + (tmp / "e.txt").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ernie: error: --output must end in .npy or .safetensors: " + (tmp / "e.txt").string() + "\n");
  r = run_cli("embed" + model + " --input " + (tmp / "missing.txt").string() + " --output " + (tmp / "e.npy").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ernie: error: cannot read " + (tmp / "missing.txt").string() + ": No such file or directory\n");
  r = run_cli("classify" + model + " --input " + (tmp / "missing.txt").string() + " --output " + (tmp / "c.jsonl").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("embed" + model + " --input " + (tmp / "in.txt").string() + " --output " + (tmp / "e.npy").string() +
              " --pooling sum");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ernie: error: pooling must be cls, mean, max or none, not 'sum'\n");
  r = run_cli("classify" + model + " --output " + (tmp / "c.jsonl").string() + " hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ernie: error: --output needs --input FILE\n");
  r = run_cli("classify" + model + " --input " + (tmp / "in.txt").string() + " hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ernie: error: give texts or --input FILE, not both\n");
  // Nothing but the input is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(DistInfer, ClassifyInputWithoutOutputPrintsInOrder) {
  TempDir tmp;
  write_file(tmp / "in.txt", "hello world\nnews\n\n今天\n");
  const auto file = run_cli("classify --model " + models().classifier.string() + " --input " + (tmp / "in.txt").string());
  ASSERT_EQ(file.status, 0) << file.err;
  const auto piped = run_cli("classify --model " + models().classifier.string(), "hello world\nnews\n\n今天\n");
  EXPECT_EQ(file.out, piped.out);
  EXPECT_EQ(std::count(file.out.begin(), file.out.end(), '\n'), 4);
}

}  // namespace

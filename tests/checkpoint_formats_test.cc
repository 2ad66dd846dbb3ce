// Every checkpoint format gives the same model: tests/fixtures/checkpoints (made by
// tools/make_checkpoint_fixtures.py from the HF fixtures) run through `ernie run` must match the
// HF-safetensors run within 1e-6 and the independent torch reference within 1e-4; conversions
// round-trip; the PaddleNLP mask rule travels with Paddle-layout weights; the real .pdparams
// samples in ../shared read as their listings say.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "ernie/checkpoint.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace ernie;
using ernie::testing::fixtures_dir;
using ernie::testing::run_cli;
using ernie::testing::TempDir;

namespace {

fs::path ckpt(const std::string& name) { return fixtures_dir() / "checkpoints" / name; }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Max |a - b| over the outputs both files have; per-token outputs [B, L, ...] only where the mask is 1.
double max_diff(const TensorFile& a, const TensorFile& b, const Tensor& mask, const std::vector<std::string>& keys) {
  double worst = 0;
  for (const auto& k : keys) {
    auto ia = a.tensors.find(k), ib = b.tensors.find(k);
    if (ia == a.tensors.end() || ib == b.tensors.end()) {
      ADD_FAILURE() << "missing output " << k;
      continue;
    }
    const Tensor x = ia->second.to_f32(), y = ib->second.to_f32();
    EXPECT_EQ(x.shape(), y.shape()) << k;
    if (x.shape() != y.shape()) continue;
    const int64_t n = x.numel();
    int64_t inner = 1;
    const bool per_token = mask.defined() && x.rank() >= 2 && x.dim(0) == mask.dim(0) && x.dim(1) == mask.dim(1);
    if (per_token)
      for (int i = 2; i < x.rank(); ++i) inner *= x.dim(i);
    const std::vector<int64_t> m = mask.defined() ? mask.to_i64() : std::vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      if (per_token && m[i / inner] == 0) continue;
      worst = std::max(worst, static_cast<double>(std::fabs(x.data<float>()[i] - y.data<float>()[i])));
    }
  }
  return worst;
}

TensorFile run_model(const fs::path& model, const fs::path& inputs, const std::string& extra = "") {
  TempDir tmp;
  const auto r = run_cli("run --model " + q(model) + " --inputs " + q(inputs) + " --outputs " + q(tmp / "out.safetensors") +
                         " " + extra);
  EXPECT_EQ(r.status, 0) << r.err;
  if (r.status != 0) return {};
  return parse_safetensors(ernie::testing::read_file(tmp / "out.safetensors").data(),
                           ernie::testing::read_file(tmp / "out.safetensors").size(), "out");
}

struct Case {
  std::string hf_fixture;
  std::vector<std::string> formats;
  std::vector<std::string> outputs;   // compared against the reference
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"ernie_relu_seqcls",
       {"ernie_seqcls_bin", "ernie_seqcls_bin_zip64", "ernie_seqcls_pdparams_p2", "ernie_seqcls_pdparams_p4_np2",
        "ernie_seqcls_paddle_st", "ernie_seqcls_sharded_st", "ernie_seqcls_sharded_bin"},
       {"logits", "pooler_output"}},
      {"bert_gelu_mlm", {"bert_mlm_bin", "bert_mlm_pdparams"}, {"logits"}},
      {"bert_gelu_new_qa", {"bert_qa_pdparams"}, {"start_logits", "end_logits"}},
  };
  return kCases;
}

}  // namespace

TEST(CheckpointFormats, SameOutputsInEveryFormat) {
  for (const Case& c : cases()) {
    const fs::path ref_path = fixtures_dir() / c.hf_fixture / "reference.safetensors";
    const TensorFile ref = read_safetensors(ref_path);
    const Tensor mask = ref.tensors.at("attention_mask");
    const TensorFile base = run_model(fixtures_dir() / c.hf_fixture, ref_path);
    std::vector<std::string> all = c.outputs;
    all.push_back("last_hidden_state");
    EXPECT_LE(max_diff(base, ref, mask, c.outputs), 1e-4) << c.hf_fixture;
    for (const auto& f : c.formats) {
      SCOPED_TRACE(f);
      const TensorFile got = run_model(ckpt(f), ref_path);
      const double same = max_diff(got, base, mask, all);
      const double vs_ref = max_diff(got, ref, mask, c.outputs);
      EXPECT_LE(same, 1e-6) << f;
      EXPECT_LE(vs_ref, 1e-4) << f;
      std::cout << "[ format ] " << f << ": vs HF safetensors " << same << ", vs torch reference " << vs_ref << "\n";
    }
  }
}

TEST(CheckpointFormats, LayoutAndMaskRuleFollowTheWeights) {
  EXPECT_EQ(Model::load(fixtures_dir() / "ernie_relu_seqcls").default_mask_rule(), MaskRule::AttendAll);
  EXPECT_EQ(Model::load(ckpt("ernie_seqcls_bin")).default_mask_rule(), MaskRule::AttendAll);
  for (const char* f : {"ernie_seqcls_pdparams_p2", "ernie_seqcls_pdparams_p4_np2", "ernie_seqcls_paddle_st"})
    EXPECT_EQ(Model::load(ckpt(f)).default_mask_rule(), MaskRule::MaskPadIds) << f;

  // No attention mask, ids with pad_token_id (0): the Paddle model masks them (PaddleNLP's rule),
  // the HF model attends to them unless told --mask-pad-ids.
  TempDir tmp;
  Tensor ids = Tensor::zeros(DType::I64, {2, 6});
  const int64_t rows[2][6] = {{1, 17, 33, 2, 0, 0}, {1, 5, 0, 9, 2, 0}};
  std::memcpy(ids.raw(), rows, sizeof rows);
  write_safetensors(tmp / "in.safetensors", {{"input_ids", ids}});
  const TensorFile hf_attend = run_model(fixtures_dir() / "ernie_relu_seqcls", tmp / "in.safetensors");
  const TensorFile hf_masked = run_model(fixtures_dir() / "ernie_relu_seqcls", tmp / "in.safetensors", "--mask-pad-ids");
  const TensorFile pd = run_model(ckpt("ernie_seqcls_pdparams_p2"), tmp / "in.safetensors");
  const TensorFile pd_attend = run_model(ckpt("ernie_seqcls_pdparams_p2"), tmp / "in.safetensors", "--attend-all");
  EXPECT_LE(max_diff(pd, hf_masked, Tensor(), {"logits", "pooler_output"}), 1e-6);
  EXPECT_LE(max_diff(pd_attend, hf_attend, Tensor(), {"logits", "pooler_output"}), 1e-6);
  EXPECT_GT(max_diff(pd, hf_attend, Tensor(), {"logits"}), 1e-4);   // the rule matters for these ids

  std::string reason;
  std::map<std::string, Tensor> neutral{{"w", Tensor::zeros(DType::F32, {2})}};
  EXPECT_EQ(detect_layout(neutral, {{"format", "np"}}, &reason), WeightLayout::Paddle);
  EXPECT_EQ(reason, "safetensors metadata format=np");
  EXPECT_EQ(detect_layout(neutral, {{"format", "pt"}}, &reason), WeightLayout::HuggingFace);
  EXPECT_EQ(detect_layout(neutral, {}, &reason), WeightLayout::HuggingFace);
  EXPECT_EQ(reason, "no layout evidence in names or metadata: assuming transformers");
}

TEST(CheckpointFormats, ConvertRoundTripsFromEveryFormat) {
  const fs::path ref_path = fixtures_dir() / "ernie_relu_seqcls" / "reference.safetensors";
  const Tensor mask = read_safetensors(ref_path).tensors.at("attention_mask");
  const TensorFile base = run_model(fixtures_dir() / "ernie_relu_seqcls", ref_path);
  for (const auto& f : cases()[0].formats) {
    SCOPED_TRACE(f);
    TempDir tmp;
    const auto r = run_cli("convert --model " + q(ckpt(f)) + " --out " + q(tmp / "hf"));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("transformers layout"), std::string::npos) << r.out;
    const TensorFile hf = read_safetensors(tmp / "hf" / "model.safetensors");
    EXPECT_EQ(hf.metadata.at("format"), "pt");
    EXPECT_TRUE(hf.tensors.count("ernie.encoder.layer.0.attention.self.query.weight"));
    const std::string cfg = ernie::testing::read_file(tmp / "hf" / "config.json");
    EXPECT_EQ(cfg.find("paddlenlp_version"), std::string::npos);
    EXPECT_NE(cfg.find("\"ErnieForSequenceClassification\""), std::string::npos);
    EXPECT_LE(max_diff(run_model(tmp / "hf", ref_path), base, mask, {"logits", "pooler_output", "last_hidden_state"}), 1e-6);
  }
}

TEST(CheckpointFormats, PaddleToHfToPaddleKeepsTheTensors) {
  TempDir tmp;
  ASSERT_EQ(run_cli("convert --model " + q(ckpt("ernie_seqcls_pdparams_p2")) + " --out " + q(tmp / "hf")).status, 0);
  const auto r = run_cli("convert --model " + q(tmp / "hf") + " --out " + q(tmp / "pd") + " --to paddle");
  ASSERT_EQ(r.status, 0) << r.err;
  const Checkpoint orig = read_checkpoint_file(ckpt("ernie_seqcls_pdparams_p2") / "model_state.pdparams");
  const TensorFile back = read_safetensors(tmp / "pd" / "model.safetensors");
  EXPECT_EQ(back.metadata.at("format"), "np");
  ASSERT_EQ(back.tensors.size(), orig.tensors.size());
  for (const auto& [name, t] : orig.tensors) {
    auto it = back.tensors.find(name);
    ASSERT_NE(it, back.tensors.end()) << name;
    ASSERT_EQ(it->second.shape(), t.shape()) << name;
    EXPECT_EQ(std::memcmp(it->second.raw(), t.raw(), t.nbytes()), 0) << name;
  }
  EXPECT_NE(ernie::testing::read_file(tmp / "pd" / "config.json").find("paddlenlp_version"), std::string::npos);
  // And the Paddle-layout folder runs like the original.
  const fs::path ref_path = fixtures_dir() / "ernie_relu_seqcls" / "reference.safetensors";
  const Tensor mask = read_safetensors(ref_path).tensors.at("attention_mask");
  EXPECT_LE(max_diff(run_model(tmp / "pd", ref_path), run_model(fixtures_dir() / "ernie_relu_seqcls", ref_path), mask,
                     {"logits", "pooler_output", "last_hidden_state"}),
            1e-6);
  // The MLM head keeps PaddleNLP's tied decoder_weight.
  ASSERT_EQ(run_cli("convert --to paddle --model " + q(ckpt("bert_mlm_bin")) + " --out " + q(tmp / "mlm")).status, 0);
  const TensorFile mlm = read_safetensors(tmp / "mlm" / "model.safetensors");
  EXPECT_TRUE(mlm.tensors.count("cls.predictions.decoder_weight"));
  EXPECT_TRUE(mlm.tensors.count("cls.predictions.decoder_bias"));
  EXPECT_TRUE(mlm.tensors.count("bert.encoder.layers.1.self_attn.q_proj.weight"));
}

TEST(CheckpointFormats, ConvertToHalfPrecisionAndCopiesTokenizerFiles) {
  TempDir tmp;
  fs::copy(fixtures_dir() / "ernie_relu_seqcls", tmp / "src");
  ernie::testing::write_file(tmp / "src" / "vocab.txt", "[PAD]\n[CLS]\n");
  ernie::testing::write_file(tmp / "src" / "tokenizer_config.json", "{}\n");
  const fs::path ref_path = fixtures_dir() / "ernie_relu_seqcls" / "reference.safetensors";
  const TensorFile ref = read_safetensors(ref_path);
  for (const char* dt : {"f16", "bf16"}) {
    const fs::path out = tmp / dt;
    const auto r = run_cli("convert --model " + q(tmp / "src") + " --out " + q(out) + " --dtype " + dt);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("2 tokenizer file(s)"), std::string::npos) << r.out;
    EXPECT_EQ(ernie::testing::read_file(out / "vocab.txt"), "[PAD]\n[CLS]\n");
    const TensorFile st = read_safetensors(out / "model.safetensors");
    EXPECT_EQ(st.tensors.begin()->second.dtype(), std::string(dt) == "f16" ? DType::F16 : DType::BF16);
    EXPECT_LE(max_diff(run_model(out, ref_path), ref, ref.tensors.at("attention_mask"), {"logits"}), 5e-2) << dt;
  }
  EXPECT_EQ(run_cli("convert --model " + q(tmp / "src") + " --out " + q(tmp / "x") + " --dtype f8").err,
            "ernie: error: --dtype must be f32, f16 or bf16, not 'f8'\n");
  EXPECT_EQ(run_cli("convert --model " + q(tmp / "src") + " --out " + q(tmp / "x") + " --to onnx").err,
            "ernie: error: --to must be hf or paddle, not 'onnx'\n");
}

TEST(CheckpointFormats, TorchDtypesViewsAndSharedStorage) {
  const Checkpoint c = read_checkpoint_file(ckpt("files/dtypes.bin"));
  EXPECT_EQ(c.format, CheckpointFormat::TorchZip);
  const Tensor f32 = c.tensors.at("f32");
  ASSERT_EQ(f32.shape(), (Shape{3, 4}));
  for (int i = 0; i < 12; ++i) {
    const float want = static_cast<float>(i) / 8 - 0.5f;
    EXPECT_EQ(f32.data<float>()[i], want);
    EXPECT_EQ(c.tensors.at("f16").to_f32().data<float>()[i], want);
    EXPECT_EQ(c.tensors.at("bf16").to_f32().data<float>()[i], want);
    EXPECT_EQ(c.tensors.at("f64").data<double>()[i], want);
  }
  const Tensor ft = c.tensors.at("f32_t");   // a transposed view of f32's storage
  ASSERT_EQ(ft.shape(), (Shape{4, 3}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(ft.data<float>()[i * 3 + j], f32.data<float>()[j * 4 + i]);
  EXPECT_EQ(c.tensors.at("i64").to_i64(), (std::vector<int64_t>{-2, -1, 0, 1, 2}));
  EXPECT_EQ(c.tensors.at("i32").to_i64(), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(c.tensors.at("bool").dtype(), DType::Bool);
  EXPECT_EQ(c.tensors.at("scalar").rank(), 0);
  EXPECT_EQ(c.tensors.at("scalar").data<float>()[0], 2.5f);
  EXPECT_NE(std::find(c.notes.begin(), c.notes.end(), "shared storage 0: f32, f32_t"), c.notes.end());
  const Checkpoint v = read_checkpoint_file(ckpt("files/view_ok.bin"));
  EXPECT_EQ(std::vector<float>(v.tensors.at("w").data<float>(), v.tensors.at("w").data<float>() + 4),
            (std::vector<float>{0, 2, 1, 3}));
}

TEST(CheckpointFormats, PickleProtocols3And5) {
  for (const char* f : {"files/p3.pdparams", "files/p5.pdparams"}) {
    const Checkpoint c = read_checkpoint_file(ckpt(f));
    ASSERT_EQ(c.tensors.size(), 2u) << f;
    EXPECT_EQ(c.tensors.at("a").shape(), (Shape{2, 3}));
    EXPECT_EQ(c.tensors.at("a").data<float>()[5], 5.0f);
    EXPECT_EQ(c.tensors.at("b").to_i64(), (std::vector<int64_t>{1, -2, 3}));
  }
}

TEST(CheckpointFormats, InspectShowsWhatThePickleHeld) {
  const auto r = run_cli("inspect " + q(ckpt("ernie_seqcls_pdparams_p2")));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("format: paddle pickle (.pdparams), layout: paddle"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("found: pickle protocol 2"), std::string::npos);
  EXPECT_NE(r.out.find("found: globals: numpy.core.multiarray._reconstruct, numpy.ndarray, _codecs.encode, numpy.dtype"),
            std::string::npos);
  EXPECT_NE(r.out.find("found: ignored StructuredToParameterName@@ (a dict of 42)"), std::string::npos);
  EXPECT_NE(r.out.find("found: joined ernie.embeddings.word_embeddings.weight from 2 slices (UnpackBigParamInfor@@)"),
            std::string::npos);
  EXPECT_NE(r.out.find("ernie.encoder.layers.0.self_attn.q_proj.weight"), std::string::npos);
  const auto j = run_cli("inspect --json " + q(ckpt("bert_mlm_bin/pytorch_model.bin")));
  ASSERT_EQ(j.status, 0) << j.err;
  const auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["format"], "pytorch zip (.bin)");
  EXPECT_EQ(doc["layout"], "hf");
  EXPECT_EQ(doc["num_tensors"], 43);
}

// The two real paddle.save files in ../shared: every tensor of the listing, with its shape and size.
TEST(CheckpointFormats, RealPdparamsSamples) {
  SKIP_WITHOUT_SHARED();
  const fs::path dir = ernie::testing::shared_dir() / "data" / "pdparams-samples";
  for (const char* stem : {"mnist_mlp_protocol2", "energy_mlp_protocol4"}) {
    SCOPED_TRACE(stem);
    const Checkpoint c = read_checkpoint_file(dir / (std::string(stem) + ".pdparams"));
    std::ifstream listing(dir / (std::string(stem) + ".contents.txt"));
    std::string line;
    size_t listed = 0;
    const std::regex row(R"(^(\S+) Arr\(([0-9, ]*)\) <f4 (\d+)B$)");
    while (std::getline(listing, line)) {
      std::smatch m;
      if (!std::regex_match(line, m, row)) continue;
      ++listed;
      auto it = c.tensors.find(m[1]);
      ASSERT_NE(it, c.tensors.end()) << m[1];
      EXPECT_EQ(it->second.dtype(), DType::F32);
      Shape shape;
      std::stringstream ss(m[2]);
      std::string dim;
      while (std::getline(ss, dim, ','))
        if (dim.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(dim));
      EXPECT_EQ(it->second.shape(), shape) << m[1];
      EXPECT_EQ(it->second.nbytes(), std::stoull(m[3])) << m[1];
      EXPECT_TRUE(std::isfinite(it->second.data<float>()[0]));
    }
    EXPECT_GT(listed, 0u);
    EXPECT_EQ(c.tensors.size(), listed);
  }
}

namespace {
// Resident kB of the mapping of this process that contains `p` (/proc/self/smaps), or -1.
long resident_kb_of_mapping(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  const auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find(':') > line.find(' ')) {
      inside = a >= begin && a < end;
      continue;
    }
    long kb = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) return kb;
  }
  return -1;
}
}  // namespace

// Loading hands a mapped checkpoint's pages back once a tensor is packed: the mapping's resident
// pages go, the values read back the same; a tensor in memory of its own is left as it is.
TEST(CheckpointMemory, ReleasedFilePagesLeaveTheResidentSetAndKeepTheirValues) {
  void* probe = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const bool pageout = madvise(probe, 4096, 21 /* MADV_PAGEOUT */) == 0;
  munmap(probe, 4096);
  if (!pageout) GTEST_SKIP() << "this kernel has no MADV_PAGEOUT (Linux 5.4+)";
  TempDir tmp;
  const int64_t n = 4 << 20;   // 16 MiB of fp32
  Tensor w = Tensor::empty(DType::F32, {n});
  for (int64_t i = 0; i < n; ++i) w.data<float>()[i] = static_cast<float>(i % 1000) * 0.5f;
  write_safetensors(tmp / "w.safetensors", {{"w", w}});
  const TensorFile file = read_safetensors(tmp / "w.safetensors");
  const Tensor& t = file.tensors.at("w");
  ASSERT_EQ(std::memcmp(t.data<float>(), w.data<float>(), w.nbytes()), 0);   // every page touched
  EXPECT_GE(resident_kb_of_mapping(t.data<float>()), 15 << 10);
  const FilePageReleaser release_file_pages;   // after the file is mapped
  release_file_pages(t);
  EXPECT_LT(resident_kb_of_mapping(t.data<float>()), 1 << 10);
  EXPECT_EQ(std::memcmp(t.data<float>(), w.data<float>(), w.nbytes()), 0);   // read from the file again
  Tensor own = w;   // heap memory: untouched
  release_file_pages(own);
  EXPECT_GE(resident_kb_of_mapping(own.data<float>()), 15 << 10);
  EXPECT_EQ(own.data<float>()[n - 1], static_cast<float>((n - 1) % 1000) * 0.5f);
}

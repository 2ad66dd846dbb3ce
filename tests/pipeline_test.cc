// Task post-processing against transformers' rules: tests/fixtures/pipeline/cases.json holds
// encodings made by HF tokenizers, seeded random logits and the answers of transformers' pipeline
// rules transcribed in tools/make_pipeline_fixtures.py (never this project's output). Each case
// goes through the same pure function the pipelines, the server and Python use.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ernie/pipeline.h"
#include "serve_util.h"
#include "test_util.h"

namespace {

using nlohmann::json;
using namespace ernie;

const json& cases() {
  static const json c = [] {
    std::ifstream f(ernie::testing::fixtures_dir() / "pipeline" / "cases.json");
    return json::parse(f)["cases"];
  }();
  return c;
}

const Tokenizer& tokenizer() {
  static const Tokenizer t = Tokenizer::from_vocab_file(ernie::testing::fixtures_dir() / "pipeline" / "vocab.txt");
  return t;
}

// Code point offset -> byte offset in s.
uint32_t byte_of(std::string_view s, uint32_t chars) {
  uint32_t n = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == chars) return static_cast<uint32_t>(i);
  return static_cast<uint32_t>(s.size());
}

// An HF tokenizers encoding (character offsets) as an ernie::Encoding (byte offsets).
Encoding encoding_of(const json& j, std::string_view a, std::string_view b = {}) {
  Encoding e;
  e.ids = j["input_ids"].get<std::vector<int32_t>>();
  e.type_ids = j["token_type_ids"].get<std::vector<int32_t>>();
  e.attention_mask = j["attention_mask"].get<std::vector<int32_t>>();
  e.special_tokens_mask = j["special_tokens_mask"].get<std::vector<int32_t>>();
  e.word_ids = j["word_ids"].get<std::vector<int32_t>>();
  for (int s : j["sequence_ids"].get<std::vector<int>>()) e.sequence_ids.push_back(static_cast<int8_t>(s));
  for (size_t k = 0; k < e.ids.size(); ++k) {
    const auto off = j["offsets"][k].get<std::vector<uint32_t>>();
    const std::string_view text = e.sequence_ids[k] == 1 ? b : a;
    e.offsets.emplace_back(e.sequence_ids[k] < 0 ? 0 : byte_of(text, off[0]), e.sequence_ids[k] < 0 ? 0 : byte_of(text, off[1]));
  }
  return e;
}

pipeline::SequenceOutput matrix(const json& rows) {
  pipeline::SequenceOutput m;
  m.rows = static_cast<int64_t>(rows.size());
  for (const auto& r : rows) {
    const auto v = r.get<std::vector<float>>();
    m.cols = static_cast<int64_t>(v.size());
    m.values.insert(m.values.end(), v.begin(), v.end());
  }
  return m;
}

void expect_score(double got, const json& want, const std::string& where) {
  EXPECT_NEAR(got, want.get<double>(), 1e-6 * std::max(1.0, std::abs(want.get<double>()))) << where;
}

int count(const std::string& task) {
  int n = 0;
  for (const auto& c : cases()) n += c["task"] == task ? static_cast<int>(c.contains("runs") ? c["runs"].size() : 1) : 0;
  return n;
}

TEST(Pipeline, TextClassificationAsTransformers) {
  ASSERT_GE(count("text-classification"), 14);
  for (const auto& c : cases()) {
    if (c["task"] != "text-classification") continue;
    Config cfg;
    cfg.id2label = c["labels"].get<std::vector<std::string>>();
    cfg.problem_type = c["problem_type"];
    const auto z = c["logits"].get<std::vector<float>>();
    const json& o = c["options"];
    const auto fn = pipeline::parse_function(o["function_to_apply"].is_null() ? "default" : o["function_to_apply"].get<std::string>());
    const int64_t top_k = o["top_k"].is_null() ? 0 : o["top_k"].get<int64_t>();
    const auto got = pipeline::rank_labels(pipeline::apply_function(z.data(), static_cast<int64_t>(z.size()), fn, cfg), cfg, top_k);
    const json& want = c["expected"];
    ASSERT_EQ(got.size(), want.size()) << c.dump();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].label, want[i]["label"]) << c.dump();
      expect_score(got[i].score, want[i]["score"], o.dump());
    }
  }
}

TEST(Pipeline, TokenClassificationAggregationAsTransformers) {
  ASSERT_GE(count("token-classification"), 50);
  for (const auto& c : cases()) {
    if (c["task"] != "token-classification") continue;
    Config cfg;
    cfg.id2label = c["labels"].get<std::vector<std::string>>();
    const std::string text = c["text"];
    const Encoding enc = encoding_of(c["encoding"], text);
    const auto logits = matrix(c["logits"]);
    for (const auto& run : c["runs"]) {
      pipeline::TokenClassificationOptions o;
      o.aggregation_strategy = pipeline::parse_aggregation(run["options"]["aggregation_strategy"]);
      o.ignore_labels = run["options"]["ignore_labels"].get<std::vector<std::string>>();
      const auto got = pipeline::token_entities(tokenizer(), text, enc, logits, cfg, o);
      const json& want = run["expected"];
      const std::string where = text + " " + run["options"].dump();
      ASSERT_EQ(got.size(), want.size()) << where;
      for (size_t i = 0; i < got.size(); ++i) {
        const json& w = want[i];
        EXPECT_EQ(got[i].entity, w.contains("entity") ? w["entity"] : w["entity_group"]) << where << " #" << i;
        expect_score(got[i].score, w["score"], where);
        EXPECT_EQ(got[i].word, w["word"]) << where;
        EXPECT_EQ(got[i].start, w["start"]) << where;
        EXPECT_EQ(got[i].end, w["end"]) << where;
        if (w.contains("index")) {
          EXPECT_EQ(got[i].index, w["index"]) << where;
        }
      }
    }
  }
}

TEST(Pipeline, QuestionAnsweringWindowsAsTransformers) {
  ASSERT_GE(count("question-answering"), 32);
  int across = 0, impossible = 0;
  for (const auto& c : cases()) {
    if (c["task"] != "question-answering") continue;
    const std::string q = c["question"], ctx = c["context"];
    std::vector<pipeline::QaWindow> windows;
    for (size_t w = 0; w < c["windows"].size(); ++w)
      windows.push_back({encoding_of(c["windows"][w], q, ctx), c["start_logits"][w].get<std::vector<float>>(),
                         c["end_logits"][w].get<std::vector<float>>()});
    for (const auto& run : c["runs"]) {
      pipeline::QuestionAnsweringOptions o;
      o.top_k = run["options"]["top_k"];
      o.handle_impossible_answer = run["options"]["handle_impossible_answer"];
      o.max_answer_len = run["options"]["max_answer_len"];
      o.align_to_words = run["options"]["align_to_words"];
      const auto got = pipeline::qa_answers(windows, ctx, o);
      const json& want = run["expected"];
      const std::string where = q + " " + run["options"].dump();
      ASSERT_EQ(got.size(), want.size()) << where;
      for (size_t i = 0; i < got.size(); ++i) {
        expect_score(got[i].score, want[i]["score"], where);
        EXPECT_EQ(got[i].start, want[i]["start"]) << where << " #" << i;
        EXPECT_EQ(got[i].end, want[i]["end"]) << where << " #" << i;
        EXPECT_EQ(got[i].answer, want[i]["answer"]) << where << " #" << i;
        impossible += want[i]["answer"] == "";
      }
      across += windows.size() > 1;
    }
  }
  EXPECT_GT(across, 0) << "cases with several windows";
  EXPECT_GT(impossible, 0) << "cases whose answers include the impossible one";
}

TEST(Pipeline, FillMaskAsTransformers) {
  ASSERT_GE(count("fill-mask"), 6);
  for (const auto& c : cases()) {
    if (c["task"] != "fill-mask") continue;
    const std::string text = c["text"];
    const Encoding enc = encoding_of(c["encoding"], text);
    const auto logits = matrix(c["logits"]);
    for (const auto& run : c["runs"]) {
      pipeline::FillMaskOptions o;
      o.top_k = run["options"]["top_k"];
      o.targets = run["options"]["targets"].get<std::vector<std::string>>();
      const auto got = pipeline::fill_mask_results(tokenizer(), enc, logits, o);
      // transformers: one mask -> a list; several -> a list per mask
      const json want = got.size() == 1 ? json::array({run["expected"]}) : run["expected"];
      const std::string where = text + " " + run["options"].dump();
      ASSERT_EQ(got.size(), want.size()) << where;
      for (size_t m = 0; m < got.size(); ++m) {
        ASSERT_EQ(got[m].size(), want[m].size()) << where;
        for (size_t i = 0; i < got[m].size(); ++i) {
          expect_score(got[m][i].score, want[m][i]["score"], where);
          EXPECT_EQ(got[m][i].token, want[m][i]["token"]) << where;
          EXPECT_EQ(got[m][i].token_str, want[m][i]["token_str"]) << where;
          EXPECT_EQ(got[m][i].sequence, want[m][i]["sequence"]) << where;
        }
      }
    }
  }
}

TEST(Pipeline, PoolingAsSentenceTransformers) {
  ASSERT_GE(count("feature-extraction"), 6);
  for (const auto& c : cases()) {
    if (c["task"] != "feature-extraction") continue;
    pipeline::EmbeddingOptions o;
    o.pooling = pipeline::parse_pooling(c["options"]["pooling"]);
    o.normalize = c["options"]["normalize"];
    const auto got = pipeline::pool(matrix(c["hidden"]), o);
    const auto want = c["expected"].get<std::vector<double>>();
    ASSERT_EQ(got.values.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got.values[k], want[k], 1e-6) << c["options"].dump();
  }
}

// Our tokenizer makes the encodings the fixtures took from HF tokenizers.
TEST(Pipeline, FixtureEncodingsAreOurs) {
  for (const auto& c : cases()) {
    if (c["task"] != "token-classification" && c["task"] != "fill-mask") continue;
    const Encoding e = tokenizer().encode(c["text"].get<std::string>());
    EXPECT_EQ(e.ids, c["encoding"]["input_ids"].get<std::vector<int32_t>>()) << c["text"];
    EXPECT_EQ(e.word_ids, c["encoding"]["word_ids"].get<std::vector<int32_t>>()) << c["text"];
  }
}

TEST(Pipeline, BadOptionsAreOneLineErrors) {
  EXPECT_THROW(pipeline::parse_aggregation("best"), Error);
  EXPECT_THROW(pipeline::parse_pooling("sum"), Error);
  EXPECT_THROW(pipeline::parse_function("relu"), Error);
  EXPECT_THROW(pipeline::parse_task("summarization"), Error);
  EXPECT_EQ(pipeline::parse_task("ner"), pipeline::Task::TokenClassification);
  EXPECT_EQ(pipeline::parse_task("sentiment-analysis"), pipeline::Task::TextClassification);
}

}  // namespace

namespace {

namespace fs = std::filesystem;

// A fixture model folder with the server tests' generated vocab (f5 g6 h7 ...).
fs::path cli_model(const ernie::testing::TempDir& tmp, const std::string& fixture) {
  const fs::path dir = tmp.path() / fixture;
  fs::create_directories(dir);
  serve_test::make_model(dir, fixture);
  return dir;
}

TEST(PipelineCli, TasksFromArgumentsStdinAndHeads) {
  ernie::testing::TempDir tmp;
  const std::string cls = " --model '" + cli_model(tmp, "ernie_relu_seqcls").string() + "'";
  // The head's task by default; one JSON line per input, from --text or stdin.
  auto r = ernie::testing::run_cli("pipeline" + cls + " --text 'f5 g6' --text 'h7'");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const json j = json::parse(line);
    EXPECT_TRUE(j.contains("label") && j.contains("score")) << line;   // top_k 1: one object
    ++n;
  }
  EXPECT_EQ(n, 2);
  r = ernie::testing::run_cli("pipeline text-classification" + cls + " --top-k 3", "f5 g6\nh7\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out.substr(0, r.out.find('\n'))).size(), 3u);
  // rerank through the same classifier, and embeddings of any model.
  r = ernie::testing::run_cli("pipeline rerank" + cls + " --query 'f5' --text 'g6' --text 'h7 i8' --return-text");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).size(), 2u);
  r = ernie::testing::run_cli("pipeline feature-extraction" + cls + " --pooling mean --normalize --text 'f5 g6'");
  ASSERT_EQ(r.status, 0) << r.err;
  double norm = 0;
  for (const auto& v : json::parse(r.out)) norm += v.get<double>() * v.get<double>();
  EXPECT_NEAR(norm, 1.0, 1e-5);
  // The QA model windows a long context.
  const std::string qa = " --model '" + cli_model(tmp, "bert_gelu_new_qa").string() + "'";
  std::string context;
  for (int i = 0; i < 60; ++i) context += std::string(i ? " " : "") + static_cast<char>('a' + (5 + i) % 26) + std::to_string(5 + i);
  r = ernie::testing::run_cli("pipeline" + qa + " --max-seq-len 24 --doc-stride 8 --top-k 2",
                              json{{"question", "f5"}, {"context", context}}.dump() + "\nf5\t" + context + "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream qa_lines(r.out);
  while (std::getline(qa_lines, line)) {
    const json j = json::parse(line);
    ASSERT_EQ(j.size(), 2u) << line;
    EXPECT_EQ(context.substr(j[0]["start"], j[0]["end"].get<size_t>() - j[0]["start"].get<size_t>()), j[0]["answer"]);
  }
}

TEST(PipelineCli, BadInputsAreOneLineErrors) {
  ernie::testing::TempDir tmp;
  const std::string cls = " --model '" + cli_model(tmp, "ernie_relu_seqcls").string() + "'";
  const std::string mlm = " --model '" + cli_model(tmp, "bert_gelu_mlm").string() + "'";
  for (const auto& [args, want] : std::vector<std::pair<std::string, std::string>>{
           {"pipeline summarization" + cls + " --text x", "unknown task 'summarization'"},
           {"pipeline fill-mask" + cls + " --text x", "cannot do fill-mask"},
           {"pipeline" + mlm + " --text 'no mask'", "holds no [MASK] token"},
           {"pipeline" + cls + " --options '{\"topk\": 2}' --text x", "no parameter 'topk'"},
           {"pipeline" + cls + " --options '[1]' --text x", "--options must be a JSON object"},
       }) {
    const auto r = ernie::testing::run_cli(args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
  }
}

}  // namespace

// The `ernie config` CLI: validate (every problem, --strict, warnings, syntax errors, missing
// files, --source) and explain (Chinese, JSON, bad options).
#include <gtest/gtest.h>


#include <nlohmann/json.hpp>

#include "config_test_util.h"
#include "test_util.h"

namespace {

using json = nlohmann::json;
using ernie::testing::run_cli;
using ernie::testing::seed;
using ernie::testing::seed_path;
using ernie::testing::TempDir;
using ernie::testing::with;
using ernie::testing::write_file;

TEST(ConfigCli, ValidateSeedIsOk) {
  const auto r = run_cli("config validate '" + seed_path().string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ok: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("99,878,413"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(ConfigCli, ValidateReportsEveryProblem) {
  TempDir dir;
  const json doc = with(seed(), {{"hidden_size", 100}, {"pad_token_id", -1}, {"num_hiden_layers", 2}});
  write_file(dir / "config.json", doc.dump(2));
  const auto r = run_cli("config validate '" + dir.path().string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("ernie: error: hidden_size (100) must be divisible by num_attention_heads (12)\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("ernie: error: pad_token_id (-1) must be in [0, vocab_size)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ernie: warning: unknown key 'num_hiden_layers' (did you mean num_hidden_layers?)"),
            std::string::npos)
      << r.err;
}

TEST(ConfigCli, StrictAndWarnings) {
  TempDir dir;
  json doc = seed();
  doc["num_hiden_layers"] = 2;
  write_file(dir / "config.json", doc.dump());
  const auto lenient = run_cli("config validate '" + (dir / "config.json").string() + "'");
  EXPECT_EQ(lenient.status, 0) << lenient.err;
  EXPECT_NE(lenient.err.find("ernie: warning: unknown key 'num_hiden_layers'"), std::string::npos);
  const auto strict = run_cli("config validate --strict '" + (dir / "config.json").string() + "'");
  EXPECT_EQ(strict.status, 1);
  EXPECT_NE(strict.err.find("ernie: error: unknown key 'num_hiden_layers' (did you mean num_hidden_layers?)"),
            std::string::npos)
      << strict.err;
}

TEST(ConfigCli, ValidateSyntaxErrorAndMissingFile) {
  TempDir dir;
  write_file(dir / "config.json", "{\n  \"hidden_size\": 768\n  \"vocab_size\": 5\n}\n");
  const auto r = run_cli("config validate '" + dir.path().string() + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("config.json:3:3: syntax error: "), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("config validate '" + (dir / "absent.json").string() + "'").status, 1);
}

TEST(ConfigCli, SourceOverride) {
  TempDir dir;
  write_file(dir / "config.json", R"({"model_type": "ernie"})");
  const auto hf = run_cli("config explain --json '" + dir.path().string() + "'");
  ASSERT_EQ(hf.status, 0) << hf.err;
  EXPECT_EQ(json::parse(hf.out)["fields"]["type_vocab_size"]["value"], 2);
  const auto pd = run_cli("config explain --json --source paddle '" + dir.path().string() + "'");
  ASSERT_EQ(pd.status, 0) << pd.err;
  EXPECT_EQ(json::parse(pd.out)["fields"]["type_vocab_size"]["value"], 16);
  EXPECT_EQ(json::parse(pd.out)["source"], "paddlenlp");
}

TEST(ConfigCli, ExplainChinese) {
  const auto r = run_cli("config explain --lang zh --seq-len 256 '" + seed_path().string() + "'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("隐藏层激活函数"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("最大位置编码数"), std::string::npos);
  EXPECT_NE(r.out.find("99,878,413"), std::string::npos);
  EXPECT_NE(r.out.find("序列长度 256"), std::string::npos);
}

TEST(ConfigCli, ExplainJsonAndBadOptions) {
  const auto r = run_cli("config explain --json '" + seed_path().string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["parameters"]["total"], 99878413);
  EXPECT_EQ(j["seq_len"], 128);
  EXPECT_NE(run_cli("config explain --lang fr '" + seed_path().string() + "'").status, 0);
  EXPECT_NE(run_cli("config explain --seq-len 0 '" + seed_path().string() + "'").status, 0);
}

}  // namespace

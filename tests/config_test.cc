// Config reading, validation, round trip and `explain` (the `ernie config` CLI: config_cli_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/explain.h"
#include "ernie/params.h"
#include "config_test_util.h"
#include "test_util.h"

namespace {

using json = nlohmann::json;
using ernie::testing::read_file;
using ernie::testing::source_dir;
using ernie::testing::TempDir;
using ernie::testing::write_file;
using ernie::testing::seed;
using ernie::testing::seed_path;
using ernie::testing::with;
namespace fs = std::filesystem;


// The diagnostics a document fails with (empty when it parses).
std::vector<ernie::ConfigDiagnostic> errors_of(const json& doc, ernie::ConfigOptions opts = {}) {
  try {
    ernie::parse_config_json(doc, opts);
  } catch (const ernie::ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

bool has_error(const std::vector<ernie::ConfigDiagnostic>& diags, const std::string& field,
               const std::string& text) {
  return std::any_of(diags.begin(), diags.end(), [&](const auto& d) {
    return d.is_error && d.field == field && d.message.find(text) != std::string::npos;
  });
}

std::string dump(const std::vector<ernie::ConfigDiagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += "[" + d.field + "] " + d.message + "\n";
  return s;
}

// ---- reading -----------------------------------------------------------------------------------

TEST(Config, SeedParsesAsPaddleNlpWithEveryValue) {
  std::vector<ernie::ConfigDiagnostic> warnings;
  const ernie::Config c = ernie::load_config(seed_path(), {}, &warnings);
  EXPECT_TRUE(warnings.empty()) << dump(warnings);
  EXPECT_EQ(c.source, ernie::ConfigSource::PaddleNLP);
  EXPECT_EQ(c.model_type, ernie::ModelType::Ernie);
  EXPECT_EQ(c.vocab_size, 18000);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.hidden_act, ernie::Activation::Relu);
  EXPECT_DOUBLE_EQ(c.hidden_dropout_prob, 0.1);
  EXPECT_DOUBLE_EQ(c.attention_probs_dropout_prob, 0.1);
  EXPECT_FALSE(c.classifier_dropout.has_value());
  EXPECT_EQ(c.max_position_embeddings, 513);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c.initializer_range, 0.02);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_EQ(c.pad_token_id, 0);
  EXPECT_TRUE(c.use_task_id);
  EXPECT_EQ(c.task_type_vocab_size, 3);
  EXPECT_EQ(c.task_id, 0);
  EXPECT_EQ(c.pool_act, ernie::Activation::Tanh);
  EXPECT_FALSE(c.fuse);
  EXPECT_FALSE(c.enable_recompute);
  EXPECT_EQ(c.position_kind, ernie::PositionKind::Absolute);
  ASSERT_EQ(c.num_labels(), 13);
  EXPECT_EQ(c.id2label[0], "LABEL_0");
  EXPECT_EQ(c.id2label[12], "LABEL_12");
  EXPECT_TRUE(c.labels_given);
  EXPECT_TRUE(c.unknown_keys.empty());
  EXPECT_EQ(c.head(), ernie::Head::SequenceClassification);
  EXPECT_EQ(c.base_prefix(), "ernie");
  EXPECT_EQ(c.position_offset(), 0);
  EXPECT_EQ(c.max_sequence_length(), 513);
  EXPECT_EQ(c.head_dim(), 64);
}

TEST(Config, LoadsAModelFolder) {
  TempDir dir;
  write_file(dir / "config.json", read_file(seed_path()));
  EXPECT_EQ(ernie::load_config(dir.path()).vocab_size, 18000);
  TempDir empty;
  EXPECT_THROW(ernie::load_config(empty.path()), ernie::Error);
  EXPECT_THROW(ernie::load_config(empty / "nope.json"), ernie::Error);
}

TEST(Config, DefaultsDependOnTheSource) {
  const json doc = {{"model_type", "ernie"}, {"hidden_size", 768}};
  const ernie::Config hf = ernie::parse_config_json(doc);
  EXPECT_EQ(hf.source, ernie::ConfigSource::HuggingFace);
  EXPECT_EQ(hf.type_vocab_size, 2);
  EXPECT_FALSE(hf.use_task_id);
  EXPECT_EQ(hf.task_type_vocab_size, 3);
  EXPECT_EQ(hf.num_labels(), 2);

  json paddle_doc = doc;
  paddle_doc["paddlenlp_version"] = nullptr;  // even null marks PaddleNLP
  const ernie::Config pd = ernie::parse_config_json(paddle_doc);
  EXPECT_EQ(pd.source, ernie::ConfigSource::PaddleNLP);
  EXPECT_EQ(pd.type_vocab_size, 16);
  EXPECT_TRUE(pd.use_task_id);
  EXPECT_EQ(pd.task_type_vocab_size, 3);
  EXPECT_EQ(pd.pool_act, ernie::Activation::Tanh);
  EXPECT_EQ(pd.hidden_act, ernie::Activation::Gelu);
  EXPECT_EQ(pd.max_position_embeddings, 512);
  EXPECT_EQ(pd.vocab_size, 30522);
  EXPECT_EQ(pd.num_labels(), 2);

  // --source overrides detection.
  ernie::ConfigOptions force;
  force.source = ernie::ConfigSource::PaddleNLP;
  EXPECT_EQ(ernie::parse_config_json(doc, force).type_vocab_size, 16);
  force.source = ernie::ConfigSource::HuggingFace;
  EXPECT_EQ(ernie::parse_config_json(paddle_doc, force).type_vocab_size, 2);
}

TEST(Config, SourceDetection) {
  using ernie::ConfigSource;
  EXPECT_EQ(ernie::detect_config_source(json{{"transformers_version", "4.40.0"}, {"fuse", false}}),
            ConfigSource::HuggingFace);
  for (const char* key : {"paddlenlp_version", "init_args", "pool_act", "enable_recompute", "fuse", "task_id"}) {
    std::string reason;
    EXPECT_EQ(ernie::detect_config_source(json{{key, nullptr}}, &reason), ConfigSource::PaddleNLP) << key;
    EXPECT_NE(reason.find(key), std::string::npos) << reason;
  }
  EXPECT_EQ(ernie::detect_config_source(json{{"hidden_size", 8}}), ConfigSource::HuggingFace);
}

TEST(Config, RobertaDefaultsAndPositions) {
  const ernie::Config c = ernie::parse_config_json({{"model_type", "roberta"}, {"max_position_embeddings", 514}});
  EXPECT_EQ(c.vocab_size, 50265);
  EXPECT_EQ(c.pad_token_id, 1);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_EQ(c.position_offset(), 2);
  EXPECT_EQ(c.max_sequence_length(), 512);
  EXPECT_EQ(c.base_prefix(), "roberta");
}

TEST(Config, MissingModelTypeIsInferred) {
  EXPECT_EQ(ernie::parse_config_json({{"hidden_size", 768}}).model_type, ernie::ModelType::Bert);
  EXPECT_EQ(ernie::parse_config_json({{"use_task_id", false}}).model_type, ernie::ModelType::Ernie);
  EXPECT_EQ(ernie::parse_config_json({{"pool_act", "tanh"}}).model_type, ernie::ModelType::Ernie);
  EXPECT_EQ(ernie::parse_config_json({{"architectures", {"RobertaForMaskedLM"}}}).model_type,
            ernie::ModelType::Roberta);
  EXPECT_EQ(ernie::parse_config_json({{"architectures", {"BertModel"}}, {"fuse", false}}).model_type,
            ernie::ModelType::Bert);
}

TEST(Config, OldModelConfigWithInitArgs) {
  const json doc = {{"init_args",
                     {{{"vocab_size", 18000},
                       {"hidden_size", 768},
                       {"max_position_embeddings", 513},
                       {"hidden_act", "relu"},
                       {"type_vocab_size", 2},
                       {"init_class", "ErnieModel"}}}},
                    {"init_class", "ErnieForSequenceClassification"},
                    {"num_classes", 3}};
  TempDir dir;
  write_file(dir / "model_config.json", doc.dump(2));
  const ernie::Config c = ernie::load_config(dir.path());
  EXPECT_EQ(c.source, ernie::ConfigSource::PaddleNLP);
  EXPECT_EQ(c.model_type, ernie::ModelType::Ernie);
  EXPECT_EQ(c.vocab_size, 18000);
  EXPECT_EQ(c.hidden_act, ernie::Activation::Relu);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_TRUE(c.use_task_id);  // PaddleNLP ErnieConfig default
  ASSERT_EQ(c.architectures, std::vector<std::string>{"ErnieForSequenceClassification"});
  EXPECT_EQ(c.head(), ernie::Head::SequenceClassification);
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
}

TEST(Config, LegacyAndAliasKeys) {
  const ernie::Config a = ernie::parse_config_json({{"model_type", "ernie"}, {"num_classes", 4}, {"dropout", 0.2}});
  EXPECT_EQ(a.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"}));
  ASSERT_TRUE(a.classifier_dropout.has_value());
  EXPECT_DOUBLE_EQ(*a.classifier_dropout, 0.2);
  EXPECT_TRUE(a.labels_given);

  const ernie::Config b = ernie::parse_config_json({{"model_type", "bert"}, {"num_labels", 3}});
  EXPECT_EQ(b.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(b.head(), ernie::Head::SequenceClassification);

  // label2id alone gives the labels too.
  const ernie::Config c = ernie::parse_config_json({{"label2id", {{"neg", 0}, {"pos", 1}, {"neutral", 2}}}});
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"neg", "pos", "neutral"}));

  // Without labels: two, and the bare encoder.
  const ernie::Config d = ernie::parse_config_json({{"model_type", "bert"}});
  EXPECT_EQ(d.num_labels(), 2);
  EXPECT_FALSE(d.labels_given);
  EXPECT_EQ(d.head(), ernie::Head::Base);
}

TEST(Config, PositionKinds) {
  EXPECT_EQ(ernie::parse_config_json({{"static_position_embeddings", true}}).position_kind,
            ernie::PositionKind::Sinusoidal);
  const ernie::Config rk = ernie::parse_config_json({{"position_embedding_type", "relative_key"}});
  EXPECT_EQ(rk.position_kind, ernie::PositionKind::RelativeKey);
  EXPECT_EQ(rk.max_sequence_length(), 512);
  EXPECT_EQ(ernie::parse_config_json({{"position_embedding_type", "relative_key_query"}}).position_kind,
            ernie::PositionKind::RelativeKeyQuery);
  EXPECT_TRUE(has_error(errors_of({{"static_position_embeddings", true}, {"position_embedding_type", "relative_key"}}),
                        "static_position_embeddings", "relative_key"));
}

TEST(Config, ActivationAliases) {
  ernie::Activation a;
  ASSERT_TRUE(ernie::activation_from_string("swish", &a));
  EXPECT_EQ(a, ernie::Activation::Silu);
  ASSERT_TRUE(ernie::activation_from_string("gelu_pytorch_tanh", &a));
  EXPECT_EQ(a, ernie::Activation::GeluNew);
  ASSERT_TRUE(ernie::activation_from_string("quick_gelu", &a));
  EXPECT_EQ(a, ernie::Activation::QuickGelu);
  EXPECT_FALSE(ernie::activation_from_string("mish", &a));
  for (const auto& name : ernie::supported_activations()) EXPECT_TRUE(ernie::activation_from_string(name, &a)) << name;
  EXPECT_EQ(ernie::parse_config_json({{"hidden_act", "gelu_fast"}}).hidden_act, ernie::Activation::GeluFast);
  EXPECT_STREQ(ernie::to_string(ernie::Activation::GeluNew), "gelu_new");
}

TEST(Config, HeadFromArchitectures) {
  ernie::Head h;
  ASSERT_TRUE(ernie::head_from_architecture("ErnieForPretraining", &h));  // PaddleNLP spelling
  EXPECT_EQ(h, ernie::Head::PreTraining);
  ASSERT_TRUE(ernie::head_from_architecture("BertModel", &h));
  EXPECT_EQ(h, ernie::Head::Base);
  ASSERT_TRUE(ernie::head_from_architecture("RobertaForTokenClassification", &h));
  EXPECT_EQ(h, ernie::Head::TokenClassification);
  EXPECT_FALSE(ernie::head_from_architecture("ErnieForCausalLM", &h));
}

TEST(Config, IntegersWrittenAsFloatsAreAccepted) {
  EXPECT_EQ(ernie::parse_config_json({{"hidden_size", 768.0}}).hidden_size, 768);
  EXPECT_TRUE(has_error(errors_of({{"hidden_size", 768.5}}), "hidden_size", "must be an integer, got number 768.5"));
}

TEST(Config, NullMeansDefault) {
  std::vector<ernie::ConfigDiagnostic> warnings;
  const ernie::Config c =
      ernie::parse_config_json({{"hidden_size", nullptr}, {"classifier_dropout", nullptr}}, {}, &warnings);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_FALSE(c.classifier_dropout.has_value());
  ASSERT_EQ(warnings.size(), 1u) << dump(warnings);
  EXPECT_EQ(warnings[0].field, "hidden_size");
}

// ---- broken configs: one per problem, each naming its field ------------------------------------

struct Broken {
  const char* name;
  json patch;         // applied to the seed config with `with`
  const char* field;  // the diagnostic's field
  const char* text;   // part of its message
};

TEST(Config, EachBrokenConfigNamesItsField) {
  const std::vector<Broken> cases = {
      {"heads", {{"hidden_size", 100}}, "hidden_size", "hidden_size (100) must be divisible by num_attention_heads (12)"},
      {"vocab", {{"vocab_size", 0}}, "vocab_size", "vocab_size must be at least 1, got 0"},
      {"hidden", {{"hidden_size", -768}}, "hidden_size", "hidden_size must be at least 1"},
      {"layers", {{"num_hidden_layers", 0}}, "num_hidden_layers", "at least 1"},
      {"nheads", {{"num_attention_heads", 0}}, "num_attention_heads", "at least 1"},
      {"ffn", {{"intermediate_size", 0}}, "intermediate_size", "at least 1"},
      {"positions", {{"max_position_embeddings", 0}}, "max_position_embeddings", "at least 1"},
      {"types", {{"type_vocab_size", 0}}, "type_vocab_size", "at least 1"},
      {"tasks", {{"task_type_vocab_size", 0}}, "task_type_vocab_size", "at least 1"},
      {"hdrop", {{"hidden_dropout_prob", 1.0}}, "hidden_dropout_prob", "must be in [0, 1), got 1"},
      {"adrop", {{"attention_probs_dropout_prob", -0.1}}, "attention_probs_dropout_prob", "[0, 1)"},
      {"cdrop", {{"classifier_dropout", 1.5}}, "classifier_dropout", "[0, 1)"},
      {"init", {{"initializer_range", 0}}, "initializer_range", "must be greater than 0"},
      {"eps", {{"layer_norm_eps", -1e-5}}, "layer_norm_eps", "must be greater than 0"},
      {"pad", {{"pad_token_id", 18000}}, "pad_token_id", "pad_token_id (18000) must be in [0, vocab_size) = [0, 18000)"},
      {"task", {{"task_id", 3}}, "task_id", "task_id (3) must be in [0, task_type_vocab_size) = [0, 3)"},
      {"roberta",
       {{"model_type", "roberta"}, {"pad_token_id", 1}, {"max_position_embeddings", 2}},
       "max_position_embeddings",
       "must exceed pad_token_id + 1 (2)"},
      {"act", {{"hidden_act", "gelu2"}}, "hidden_act", "hidden_act 'gelu2' is not supported; supported: gelu"},
      {"pool_act", {{"pool_act", "mish"}}, "pool_act", "not supported"},
      {"label2id", {{"label2id", {{"LABEL_0", 0}, {"LABEL_1", 2}, {"LABEL_2", 1}}}}, "label2id", "'LABEL_1'"},
      {"label missing",
       {{"id2label", {{"0", "a"}, {"1", "b"}}}, {"label2id", {{"a", 0}}}},
       "label2id",
       "label 'b' (id2label['1']) is missing from label2id"},
      {"num_labels", {{"num_labels", 5}}, "num_labels", "num_labels (5) does not match id2label, which has 13 labels"},
      {"id2label gap", {{"id2label", {{"0", "a"}, {"2", "c"}}}, {"label2id", nullptr}}, "id2label", "index 1"},
      {"type", {{"hidden_size", "768"}}, "hidden_size", "hidden_size must be an integer, got string \"768\""},
      {"bool type", {{"use_task_id", 1}}, "use_task_id", "use_task_id must be a boolean, got integer 1"},
      {"float type", {{"layer_norm_eps", "1e-12"}}, "layer_norm_eps", "must be a number"},
      {"decoder", {{"is_decoder", true}}, "is_decoder", "decoder/cross-attention not supported"},
      {"cross", {{"add_cross_attention", true}}, "add_cross_attention", "decoder/cross-attention not supported"},
      {"model_type", {{"model_type", "gpt2"}}, "model_type", "unsupported model_type gpt2; supported: bert, ernie, roberta"},
      {"position type", {{"position_embedding_type", "rotary"}}, "position_embedding_type", "'rotary' is not supported"},
      {"architecture", {{"architectures", {"ErnieForCausalLM"}}}, "architectures", "'ErnieForCausalLM' is not supported"},
      {"problem_type", {{"problem_type", "ranking"}}, "problem_type", "'ranking' is not supported"},
      {"pruned", {{"pruned_heads", {{"0", {1, 2}}}}}, "pruned_heads", "not supported"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto diags = errors_of(with(seed(), c.patch));
    EXPECT_TRUE(has_error(diags, c.field, c.text)) << dump(diags);
  }
}

TEST(Config, AllProblemsAreReportedTogether) {
  const json doc =
      with(seed(), {{"hidden_size", 100}, {"vocab_size", 0}, {"hidden_dropout_prob", 2.0}, {"hidden_act", "nope"}});
  try {
    ernie::parse_config_json(doc);
    FAIL() << "expected ConfigError";
  } catch (const ernie::ConfigError& e) {
    const auto& d = e.diagnostics();
    EXPECT_TRUE(has_error(d, "hidden_size", "divisible"));
    EXPECT_TRUE(has_error(d, "vocab_size", "at least 1"));
    EXPECT_TRUE(has_error(d, "hidden_dropout_prob", "[0, 1)"));
    EXPECT_TRUE(has_error(d, "hidden_act", "not supported"));
    const std::string what = e.what();
    for (const auto& diag : d) EXPECT_NE(what.find(diag.message), std::string::npos);
    EXPECT_EQ(std::count(what.begin(), what.end(), '\n'), static_cast<long>(d.size()) - 1);
  }
}

TEST(Config, ValidateConfigOnABuiltConfig) {
  ernie::Config c;
  EXPECT_TRUE(ernie::validate_config(c).empty());
  c.hidden_size = 100;
  c.layer_norm_eps = 0;
  const auto d = ernie::validate_config(c);
  EXPECT_TRUE(has_error(d, "hidden_size", "divisible"));
  EXPECT_TRUE(has_error(d, "layer_norm_eps", "greater than 0"));
}

// ---- unknown keys ------------------------------------------------------------------------------

TEST(Config, TypoWarnsWithDidYouMean) {
  json doc = seed();
  doc["num_hiden_layers"] = 3;
  doc["my_extra"] = {{"a", 1}};
  std::vector<ernie::ConfigDiagnostic> warnings;
  const ernie::Config c = ernie::parse_config_json(doc, {}, &warnings);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.unknown_keys, (std::vector<std::string>{"my_extra", "num_hiden_layers"}));
  ASSERT_EQ(warnings.size(), 2u) << dump(warnings);
  EXPECT_EQ(warnings[1].message, "unknown key 'num_hiden_layers' (did you mean num_hidden_layers?)");
  EXPECT_EQ(warnings[1].field, "num_hiden_layers");
  EXPECT_FALSE(warnings[1].is_error);
  EXPECT_EQ(warnings[0].message.find("did you mean"), std::string::npos) << warnings[0].message;
  EXPECT_EQ(c.original["my_extra"], json({{"a", 1}}));
}

TEST(Config, StrictMakesUnknownKeysErrors) {
  json doc = seed();
  doc["num_hiden_layers"] = 3;
  ernie::ConfigOptions strict;
  strict.strict = true;
  EXPECT_TRUE(has_error(errors_of(doc, strict), "num_hiden_layers", "did you mean num_hidden_layers?"));
  EXPECT_TRUE(errors_of(doc).empty());
}

TEST(Config, KnownInertKeysAreAccepted) {
  std::vector<ernie::ConfigDiagnostic> warnings;
  const ernie::Config c = ernie::parse_config_json(
      {{"model_type", "bert"}, {"use_cache", true}, {"torch_dtype", "float32"}, {"transformers_version", "4.41.0"},
       {"chunk_size_feed_forward", 0}, {"output_hidden_states", false}, {"is_decoder", false},
       {"add_cross_attention", false}, {"_name_or_path", "bert-base"}, {"max_length", 20}},
      {}, &warnings);
  EXPECT_TRUE(warnings.empty()) << dump(warnings);
  EXPECT_TRUE(c.unknown_keys.empty());
}

// ---- syntax errors -----------------------------------------------------------------------------

TEST(Config, SyntaxErrorsGiveLineAndColumn) {
  const std::string text = "{\n  \"hidden_size\": 768,\n  \"vocab_size\": ,\n}\n";
  try {
    ernie::parse_config(text);
    FAIL() << "expected ConfigError";
  } catch (const ernie::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].message.rfind("config.json:3:17: syntax error: ", 0), 0u) << e.what();
  }
  TempDir dir;
  write_file(dir / "config.json", "{\"a\": 1,,}");
  try {
    ernie::load_config(dir.path());
    FAIL() << "expected ConfigError";
  } catch (const ernie::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json:1:9: syntax error"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ernie::parse_config("[1, 2]"), ernie::ConfigError);
  // A number beyond double (nlohmann's out_of_range, not a parse_error) is a ConfigError too.
  try {
    ernie::parse_config("{\"vocab_size\": 1e999}");
    FAIL() << "expected ConfigError";
  } catch (const ernie::ConfigError& e) {
    EXPECT_STREQ(e.what(), "config.json: number overflow parsing '1e999'");
  }
}

// ---- writing -----------------------------------------------------------------------------------

TEST(Config, RoundTripKeepsTheDocument) {
  json doc = seed();
  doc["num_hiden_layers"] = 3;
  doc["custom_block"] = {{"nested", {1, 2, 3}}, {"s", "x"}};
  const ernie::Config c = ernie::parse_config_json(doc);
  // Back to PaddleNLP: exactly the document that was read.
  EXPECT_EQ(ernie::config_to_json(c, ernie::ConfigSource::PaddleNLP), doc);

  // To transformers: HF spelling, unknown keys unchanged, PaddleNLP-only switches gone.
  const json hf = ernie::config_to_json(c, ernie::ConfigSource::HuggingFace);
  EXPECT_EQ(hf["num_hiden_layers"], 3);
  EXPECT_EQ(hf["custom_block"], doc["custom_block"]);
  EXPECT_FALSE(hf.contains("paddlenlp_version"));
  EXPECT_FALSE(hf.contains("fuse"));
  EXPECT_FALSE(hf.contains("pool_act"));  // tanh is what transformers does anyway
  EXPECT_EQ(hf["use_task_id"], true);
  EXPECT_EQ(hf["type_vocab_size"], 2);
  EXPECT_EQ(hf["id2label"]["12"], "LABEL_12");
  EXPECT_EQ(hf["label2id"]["LABEL_12"], 12);
  const ernie::Config back = ernie::parse_config_json(hf);
  EXPECT_EQ(back.source, ernie::ConfigSource::HuggingFace);
  EXPECT_TRUE(back.use_task_id);
  EXPECT_EQ(back.type_vocab_size, 2);
  EXPECT_EQ(back.max_position_embeddings, 513);
  EXPECT_EQ(back.hidden_act, ernie::Activation::Relu);
  EXPECT_EQ(back.id2label, c.id2label);
}

TEST(Config, HfConfigWrittenForPaddleReadsTheSame) {
  const ernie::Config c = ernie::parse_config_json(
      {{"model_type", "ernie"}, {"transformers_version", "4.40.0"}, {"hidden_act", "swish"}, {"num_labels", 3}});
  const json pd = ernie::config_to_json(c, ernie::ConfigSource::PaddleNLP);
  EXPECT_FALSE(pd.contains("transformers_version"));
  EXPECT_EQ(pd["hidden_act"], "swish");  // the file's own spelling is kept
  const ernie::Config back = ernie::parse_config_json(pd);
  EXPECT_EQ(back.source, ernie::ConfigSource::PaddleNLP);
  EXPECT_FALSE(back.use_task_id);
  EXPECT_EQ(back.type_vocab_size, 2);
  EXPECT_EQ(back.hidden_act, ernie::Activation::Silu);
  EXPECT_EQ(back.num_labels(), 3);
}

TEST(Config, LegacyKeysAreWrittenInCanonicalForm) {
  const ernie::Config c = ernie::parse_config_json({{"model_type", "ernie"}, {"num_classes", 2}, {"dropout", 0.3},
                                                    {"fuse", true}, {"static_position_embeddings", true}});
  for (auto target : {ernie::ConfigSource::HuggingFace, ernie::ConfigSource::PaddleNLP}) {
    const json out = ernie::config_to_json(c, target);
    EXPECT_FALSE(out.contains("num_classes"));
    EXPECT_FALSE(out.contains("dropout"));
    EXPECT_EQ(out["classifier_dropout"], 0.3);
    EXPECT_EQ(out["id2label"], json({{"0", "LABEL_0"}, {"1", "LABEL_1"}}));
    EXPECT_EQ(out["static_position_embeddings"], true);
    EXPECT_EQ(out["fuse"], true);  // a true training switch is kept either way
  }
}

// Found by fuzz/config: the two default labels were always written, and labels without
// architectures make a reader build a sequence classifier.
TEST(Config, ABaseConfigWithoutArchitecturesIsWrittenAsABaseConfig) {
  const ernie::Config c = ernie::parse_config_json({{"model_type", "ernie"}, {"vocab_size", 120}});
  ASSERT_EQ(c.head(), ernie::Head::Base);
  for (auto target : {ernie::ConfigSource::HuggingFace, ernie::ConfigSource::PaddleNLP}) {
    const json out = ernie::config_to_json(c, target);
    EXPECT_FALSE(out.contains("id2label")) << out;
    EXPECT_EQ(ernie::parse_config_json(out).head(), ernie::Head::Base) << out;
  }
}

TEST(Config, SaveIsAtomicAndReadsBack) {
  TempDir dir;
  const ernie::Config c = ernie::load_config(seed_path());
  write_file(dir / "config.json", "old contents");
  ernie::save_config(c, dir / "config.json", ernie::ConfigSource::PaddleNLP);
  EXPECT_EQ(json::parse(read_file(dir / "config.json")), seed());
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(e.path().filename(), "config.json");
  }
  EXPECT_EQ(files, 1u);  // no temporary left behind
  ernie::save_config(c, dir / "hf.json");
  EXPECT_EQ(ernie::load_config(dir / "hf.json").vocab_size, 18000);
  EXPECT_THROW(ernie::save_config(c, dir / "missing" / "config.json"), ernie::Error);
}

// ---- explain -----------------------------------------------------------------------------------

TEST(Config, SeedHasExactly99878413Parameters) {
  const ernie::Config c = ernie::load_config(seed_path());
  EXPECT_EQ(ernie::count_parameters(ernie::parameter_specs(c)), 99878413);
  const ernie::ConfigFacts f = ernie::config_facts(c, 128);
  EXPECT_EQ(f.class_name, "ErnieForSequenceClassification");
  EXPECT_EQ(f.params_total, 99878413);
  EXPECT_EQ(f.params_embeddings + f.params_encoder + f.params_pooler + f.params_head, f.params_total);
  EXPECT_EQ(f.params_head, 768 * 13 + 13);
  EXPECT_EQ(f.bytes_fp32, 4 * 99878413LL);
  EXPECT_EQ(f.bytes_bf16, 2 * 99878413LL);
  EXPECT_EQ(f.attention_flops_per_token, 4LL * 128 * 768 * 12);
  // 12 layers × (4 H² + 2 H I) weights, two FLOPs each.
  EXPECT_EQ(f.matmul_flops_per_token, 2LL * 12 * (4 * 768 * 768 + 2 * 768 * 3072));
  EXPECT_EQ(f.max_sequence_length, 513);
  EXPECT_EQ(ernie::format_count(99878413), "99,878,413");
}

TEST(Config, ExplainInEnglishAndChinese) {
  json doc = seed();
  doc["num_hiden_layers"] = 3;
  const ernie::Config c = ernie::parse_config_json(doc);
  const std::string en = ernie::explain_config(c, "en", 128);
  EXPECT_NE(en.find("hidden_act = relu (default gelu)"), std::string::npos) << en;
  EXPECT_NE(en.find("max_position_embeddings = 513 (default 512)"), std::string::npos);
  EXPECT_NE(en.find("513 × 768 table"), std::string::npos);
  EXPECT_NE(en.find("position_embedding_type = absolute (default)"), std::string::npos);
  EXPECT_NE(en.find("99,878,413"), std::string::npos);
  EXPECT_NE(en.find("PaddleNLP"), std::string::npos);
  EXPECT_NE(en.find("num_hiden_layers"), std::string::npos);
  EXPECT_NE(en.find("longest input 513 tokens"), std::string::npos);

  const std::string zh = ernie::explain_config(c, "zh", 128);
  EXPECT_NE(zh.find("隐藏层激活函数"), std::string::npos) << zh;
  EXPECT_NE(zh.find("最大位置编码数"), std::string::npos);
  EXPECT_NE(zh.find("position_embeddings 是一个 513 × 768 的表，初始化为均值 0、标准差 0.02 的正态分布"),
            std::string::npos);
  EXPECT_NE(zh.find("99,878,413"), std::string::npos);
  EXPECT_NE(zh.find("未知键：num_hiden_layers"), std::string::npos);
  EXPECT_THROW(ernie::explain_config(c, "fr", 128), ernie::Error);
}

TEST(Config, ExplainJson) {
  const ernie::Config c = ernie::load_config(seed_path());
  const json j = ernie::explain_config_json(c, 64);
  EXPECT_EQ(j["parameters"]["total"], 99878413);
  EXPECT_EQ(j["source"], "paddlenlp");
  EXPECT_EQ(j["seq_len"], 64);
  EXPECT_EQ(j["max_sequence_length"], 513);
  EXPECT_EQ(j["fields"]["hidden_act"]["value"], "relu");
  EXPECT_EQ(j["fields"]["hidden_act"]["default"], "gelu");
  EXPECT_EQ(j["fields"]["type_vocab_size"]["default"], 16);
  EXPECT_EQ(j["fields"]["position_embedding_type"]["in_file"], false);
}

TEST(Config, DocsTableIsGeneratedFromTheFieldTable) {
  const std::string docs = read_file(source_dir() / "docs" / "CONFIG.md");
  EXPECT_NE(docs.find(ernie::config_reference_markdown()), std::string::npos)
      << "docs/CONFIG.md is stale: regenerate its table with `ernie config reference`";
}

}  // namespace

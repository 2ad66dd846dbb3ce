// BART-family configs (bart, mbart, marian, pegasus, blenderbot, blenderbot-small): read, validated,
// explained and diagnosed, never run. Fixtures in tests/fixtures/bart/ are written from the public
// config.json files of facebook/bart-base, facebook/bart-large, facebook/mbart-large-cc25,
// Helsinki-NLP/opus-mt-en-de and google/pegasus-large (every key of each kept, long
// task_specific_params shortened).
#include <gtest/gtest.h>

#include <algorithm>

#include "ernie/config.h"
#include "ernie/doctor.h"
#include "ernie/seq2seq_config.h"
#include "test_util.h"

namespace {

using json = nlohmann::json;
using ernie::testing::fixtures_dir;
using ernie::testing::read_file;
using ernie::testing::run_cli;
using ernie::testing::source_dir;
using ernie::testing::TempDir;
using ernie::testing::write_file;
namespace fs = std::filesystem;

const std::vector<std::string> kFixtures = {"bart-base", "bart-large", "mbart-large-cc25", "opus-mt-en-de",
                                            "pegasus-large"};

fs::path fixture(const std::string& name) { return fixtures_dir() / "bart" / (name + ".json"); }
json doc_of(const std::string& name) { return json::parse(read_file(fixture(name))); }
ernie::Seq2SeqConfig load(const std::string& name) {
  std::vector<ernie::ConfigDiagnostic> warnings;
  ernie::Seq2SeqConfig c = ernie::load_seq2seq_config(fixture(name), {}, &warnings);
  std::string w;
  for (const auto& d : warnings) w += d.message + "\n";
  EXPECT_TRUE(warnings.empty()) << name << ": " << w;
  return c;
}

std::vector<ernie::ConfigDiagnostic> errors_of(const json& doc) {
  try {
    ernie::parse_seq2seq_config_json(doc);
  } catch (const ernie::ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The lines `explain` prints for one key: "  key = ..." and its indented description lines.
std::string entry_of(const std::string& text, const std::string& key) {
  const size_t at = text.find("\n  " + key + " = ");
  if (at == std::string::npos) return "";
  size_t end = at + 1;
  while ((end = text.find("\n  ", end + 1)) != std::string::npos && text[end + 3] == ' ') {
  }
  return text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

// ---- reading -----------------------------------------------------------------------------------

TEST(Seq2SeqConfig, FixturesReadWithTheirTypesAndValues) {
  const auto bart = load("bart-base");
  EXPECT_EQ(bart.type, ernie::Seq2SeqType::Bart);
  EXPECT_EQ(bart.d_model, 768);
  EXPECT_EQ(bart.encoder_layers, 6);
  EXPECT_EQ(bart.decoder_attention_heads, 12);
  EXPECT_EQ(bart.pad_token_id, 1);
  EXPECT_EQ(load("mbart-large-cc25").type, ernie::Seq2SeqType::MBart);
  const auto marian = load("opus-mt-en-de");
  EXPECT_EQ(marian.type, ernie::Seq2SeqType::Marian);
  EXPECT_EQ(marian.activation_function, "swish");
  EXPECT_TRUE(marian.scale_embedding);
  EXPECT_EQ(load("pegasus-large").encoder_layers, 16);
  // Without model_type the class name decides, longest prefix first.
  ernie::Seq2SeqType t;
  EXPECT_EQ(ernie::seq2seq_type_of(json{{"architectures", {"BlenderbotSmallForConditionalGeneration"}}}),
            ernie::Seq2SeqType::BlenderbotSmall);
  EXPECT_EQ(ernie::seq2seq_type_of(json{{"architectures", {"MBartForConditionalGeneration"}}}),
            ernie::Seq2SeqType::MBart);
  EXPECT_FALSE(ernie::seq2seq_type_of(json{{"model_type", "ernie"}, {"architectures", {"BartModel"}}}));
  EXPECT_TRUE(ernie::seq2seq_type_from_string("blenderbot-small", &t));
}

TEST(Seq2SeqConfig, DefaultsAreThoseOfTheTypesClass) {
  // A minimal file: every other value is the class default (transformers v4 config classes).
  const auto bb = ernie::parse_seq2seq_config_json(json{{"model_type", "blenderbot"}});
  EXPECT_EQ(bb.vocab_size, 8008);
  EXPECT_EQ(bb.d_model, 2560);
  EXPECT_EQ(bb.encoder_layers, 2);
  EXPECT_EQ(bb.decoder_layers, 24);
  EXPECT_EQ(bb.max_position_embeddings, 128);
  // Blenderbot learns exactly max_position_embeddings rows (no offset) and has a final layer_norm;
  // Blenderbot-small has layernorm_embedding instead.
  const auto bb_facts = ernie::seq2seq_facts(bb, 128);
  EXPECT_EQ(bb_facts.encoder_positions, 128 * 2560);
  EXPECT_EQ(bb_facts.encoder_norms, 2 * 2560);
  const auto small = ernie::seq2seq_facts(ernie::parse_seq2seq_config_json(json{{"model_type", "blenderbot-small"}}), 128);
  EXPECT_EQ(small.class_name, "BlenderbotSmallForConditionalGeneration");
  EXPECT_EQ(small.encoder_positions, 512 * 512);
  EXPECT_EQ(small.encoder_norms, 2 * 512);
  const auto marian = ernie::parse_seq2seq_config_json(json{{"model_type", "marian"}});
  EXPECT_EQ(marian.pad_token_id, 58100);
  EXPECT_EQ(marian.decoder_start_token_id, 58100);
  EXPECT_FALSE(marian.bos_token_id.has_value());
}

// ---- parameter counts --------------------------------------------------------------------------

// Expected totals are model.num_parameters() of the transformers *ForConditionalGeneration:
//  - bart-base 139,420,416 and bart-large 406,291,456: transformers' published sizes of
//    facebook/bart-base (139M) and facebook/bart-large (406M).
//  - the others are derived here from the config formulas (d = d_model, V = vocab_size, P =
//    max_position_embeddings, F = ffn dim, L = layers; attention 4(d²+d), LayerNorm 2d,
//    encoder layer 4(d²+d) + 2(dF) + F + d + 4d, decoder layer 8(d²+d) + 2(dF) + F + d + 6d):
//    mbart-large-cc25 (d 1024, V 250027, P 1024 + offset 2, 12+12 layers, F 4096, layernorm_embedding
//      and final layer_norm on both sides): 256,027,648 + 2·1,026·1,024 + 12·12,596,224 +
//      12·16,796,672 + 4·2,048 = 610,851,840;
//    opus-mt-en-de (d 512, V 58101, sinusoidal P 512, 6+6 layers, F 2048, no extra LayerNorms):
//      29,747,712 + 6·3,152,384 + 6·4,204,032 = 73,886,208 trainable, plus 2·512·512 = 524,288
//      sinusoidal = 74,410,496 (the hub's "74.4M params");
//    pegasus-large (d 1024, V 96103, sinusoidal P 1024, 16+16 layers, F 4096, final layer_norm):
//      98,409,472 + 16·12,596,224 + 16·16,796,672 + 2·2,048 = 568,699,904 trainable (the paper's
//      and model card's 568M), plus 2·1,024·1,024 = 2,097,152 sinusoidal = 570,797,056.
TEST(Seq2SeqConfig, ParameterCountsMatchTransformers) {
  struct Expect {
    std::string name;
    int64_t total, trainable;
  };
  for (const Expect& e : {Expect{"bart-base", 139420416, 139420416}, Expect{"bart-large", 406291456, 406291456},
                          Expect{"mbart-large-cc25", 610851840, 610851840},
                          Expect{"opus-mt-en-de", 74410496, 73886208},
                          Expect{"pegasus-large", 570797056, 568699904}}) {
    const auto f = ernie::seq2seq_facts(load(e.name), 128);
    EXPECT_EQ(f.total, e.total) << e.name;
    EXPECT_EQ(f.trainable, e.trainable) << e.name;
  }
  // bart-base by part: the shared table once (encoder, decoder and lm_head are tied to it), learned
  // positions of 1024 + 2 rows, final_logits_bias a buffer outside the count.
  const auto f = ernie::seq2seq_facts(load("bart-base"), 128);
  EXPECT_EQ(f.class_name, "BartForConditionalGeneration");
  EXPECT_EQ(f.shared_embeddings, 50265 * 768);
  EXPECT_EQ(f.encoder_positions, 1026 * 768);
  EXPECT_EQ(f.decoder_positions, 1026 * 768);
  EXPECT_EQ(f.encoder_layers, 6 * 7087872);
  EXPECT_EQ(f.decoder_layers, 6 * 9451776);
  EXPECT_EQ(f.encoder_norms, 2 * 768);
  EXPECT_EQ(f.lm_head, 0);
  EXPECT_EQ(f.final_logits_bias, 50265);
  EXPECT_EQ(f.max_sequence_length, 1024);
  // An untied lm_head adds V × d.
  json untied = doc_of("bart-base");
  untied["tie_word_embeddings"] = false;
  EXPECT_EQ(ernie::seq2seq_facts(ernie::parse_seq2seq_config_json(untied), 128).total, 139420416 + 50265 * 768);
}

TEST(Seq2SeqConfig, FlopsPerToken) {
  // 2 × matmul weights + 4·seq·d per attention block; the decoder adds cross-attention and lm_head.
  const auto f = ernie::seq2seq_facts(load("bart-base"), 128);
  EXPECT_EQ(f.encoder_flops_per_token, 6 * (2 * (4 * 768 * 768 + 2 * 768 * 3072) + 4 * 128 * 768));  // 87,293,952
  EXPECT_EQ(f.decoder_flops_per_token,
            6 * (2 * (8 * 768 * 768 + 2 * 768 * 3072) + 8 * 128 * 768) + 2 * 50265 * 768);  // 195,171,840
}

// ---- explain -----------------------------------------------------------------------------------

TEST(Seq2SeqConfig, ExplainCoversEveryKeyOfRealConfigs) {
  for (const auto& name : kFixtures) {
    const auto cfg = load(name);
    const json doc = doc_of(name);
    EXPECT_TRUE(cfg.unknown_keys.empty()) << name;
    for (const std::string lang : {"en", "zh"}) {
      const std::string text = ernie::explain_seq2seq_config(cfg, lang, 128);
      for (const auto& [key, value] : doc.items())
        EXPECT_TRUE(contains(text, "\n  " + key + " = ")) << name << " (" << lang << ") lacks " << key;
      EXPECT_FALSE(contains(text, "unknown: kept")) << name;
      EXPECT_FALSE(contains(text, "未知键，原样保留")) << name;
    }
    const json j = ernie::explain_seq2seq_config_json(cfg, 128);
    for (const auto& [key, field] : j["fields"].items()) EXPECT_NE(field["role"], "unknown") << name << ": " << key;
    EXPECT_EQ(j["fields"].size(), doc.size()) << name;
  }
}

TEST(Seq2SeqConfig, ExplainShowsTypeDefaultsPositionsAndCounts) {
  const std::string bart = ernie::explain_seq2seq_config(load("bart-base"), "en", 128);
  EXPECT_TRUE(contains(bart, "Model: bart, BartForConditionalGeneration (read and explained only")) << bart;
  EXPECT_TRUE(contains(bart, "d_model = 768 (default 1024)")) << bart;
  EXPECT_TRUE(contains(bart, "learned table of 1026 rows (max_position_embeddings 1024 + offset 2")) << bart;
  EXPECT_TRUE(contains(bart, "longest input 1024 tokens per side")) << bart;
  EXPECT_TRUE(contains(bart, "139,420,416")) << bart;
  EXPECT_TRUE(contains(bart, "(a buffer: saved, not a parameter)")) << bart;
  const std::string marian = ernie::explain_seq2seq_config(load("opus-mt-en-de"), "en", 128);
  EXPECT_TRUE(contains(marian, "pad_token_id = 58100 (default 58100")) << marian;
  EXPECT_TRUE(contains(marian, "fixed sinusoidal table of 512 rows, not trained")) << marian;
  EXPECT_TRUE(contains(marian, "73,886,208")) << marian;
  const std::string zh = ernie::explain_seq2seq_config(load("pegasus-large"), "zh", 128);
  EXPECT_TRUE(contains(zh, "固定的正弦位置表，1024 行，不参与训练")) << zh;
  EXPECT_TRUE(contains(zh, "pre-LN")) << zh;
}

TEST(Seq2SeqConfig, LegacySwitchesAreExplainedWithTheirHistory) {
  const std::string en = ernie::explain_seq2seq_config(load("mbart-large-cc25"), "en", 128);
  const std::string zh = ernie::explain_seq2seq_config(load("mbart-large-cc25"), "zh", 128);
  for (const std::string key : {"static_position_embeddings", "normalize_before", "add_final_layer_norm",
                                "normalize_embedding", "scale_embedding", "add_bias_logits"}) {
    const std::string entry = entry_of(en, key);
    ASSERT_FALSE(entry.empty()) << key;
    EXPECT_TRUE(contains(entry, "History: ")) << entry;
    EXPECT_TRUE(contains(entry, "PR #3602") || contains(entry, "PR #3908")) << entry;
    if (key != "scale_embedding") {
      EXPECT_TRUE(contains(entry, "legacy: not read since transformers 4.2")) << entry;
      EXPECT_TRUE(contains(entry, "PR #9343 (v4.2.0)")) << entry;
      EXPECT_TRUE(contains(entry, "PR #9497 (v4.3.0)")) << entry;
    } else {
      EXPECT_TRUE(contains(entry, "survived PR #9343")) << entry;
    }
    EXPECT_TRUE(contains(entry_of(zh, key), "历史：")) << key;
  }
}

TEST(Seq2SeqConfig, ContradictingLegacySwitchWarns) {
  json doc = doc_of("bart-base");
  doc["static_position_embeddings"] = true;
  std::vector<ernie::ConfigDiagnostic> warnings;
  ernie::parse_seq2seq_config_json(doc, {}, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].field, "static_position_embeddings");
  EXPECT_TRUE(contains(warnings[0].message, "transformers >= 4.2 builds model_type bart as false")) << warnings[0].message;
}

// ---- validation --------------------------------------------------------------------------------

TEST(Seq2SeqConfig, EachBrokenConfigFailsWithOneMessageNamingTheField) {
  struct Case {
    json patch;
    std::string field, text;
  };
  const std::vector<Case> cases = {
      {{{"d_model", 1000}}, "d_model",
       "d_model (1000) must be divisible by encoder_attention_heads (12) and decoder_attention_heads (12)"},
      {{{"decoder_attention_heads", 7}}, "d_model", "d_model (768) must be divisible by decoder_attention_heads (7)"},
      {{{"encoder_layers", -1}}, "encoder_layers", "encoder_layers must be at least 1, got -1"},
      {{{"decoder_layers", 0}}, "decoder_layers", "decoder_layers must be at least 1, got 0"},
      {{{"d_model", "768"}}, "d_model", "d_model must be an integer, got string \"768\""},
      {{{"encoder_ffn_dim", 3072.5}}, "encoder_ffn_dim", "encoder_ffn_dim must be an integer, got number 3072.5"},
      {{{"scale_embedding", "yes"}}, "scale_embedding", "scale_embedding must be a boolean, got string \"yes\""},
      {{{"dropout", 1.5}}, "dropout", "dropout must be in [0, 1), got 1.5"},
      {{{"init_std", 0}}, "init_std", "init_std must be greater than 0"},
      {{{"activation_function", "gelu_fancy"}}, "activation_function", "activation_function 'gelu_fancy' is not supported"},
      {{{"pad_token_id", 50265}}, "pad_token_id", "pad_token_id (50265) must be in [0, 50265)"},
      {{{"max_position_embeddings", -4}}, "max_position_embeddings", "max_position_embeddings must be at least 1"},
  };
  for (const auto& c : cases) {
    json doc = doc_of("bart-base");
    doc.merge_patch(c.patch);
    const auto errs = errors_of(doc);
    ASSERT_EQ(errs.size(), 1u) << c.patch.dump() << " -> " << (errs.empty() ? "" : errs[0].message);
    EXPECT_EQ(errs[0].field, c.field) << c.patch.dump();
    EXPECT_TRUE(contains(errs[0].message, c.text)) << errs[0].message;
  }
  // 768.0 is 768, as for ERNIE configs; a typo warns with a suggestion, --strict makes it an error.
  json ok = doc_of("bart-base");
  ok["d_model"] = 768.0;
  EXPECT_TRUE(errors_of(ok).empty());
  json typo = doc_of("bart-base");
  typo["encoder_layer"] = 6;
  std::vector<ernie::ConfigDiagnostic> warnings;
  ernie::parse_seq2seq_config_json(typo, {}, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].message, "unknown key 'encoder_layer' (did you mean encoder_layers?)");
  ernie::ConfigOptions strict;
  strict.strict = true;
  EXPECT_THROW(ernie::parse_seq2seq_config_json(typo, strict), ernie::ConfigError);
}

TEST(Seq2SeqConfig, EncoderReaderRefusesTheFamilyInOneLine) {
  for (const json& doc : {doc_of("bart-base"), json{{"architectures", {"MarianMTModel"}}, {"d_model", 512}}}) {
    try {
      ernie::parse_config_json(doc);
      FAIL() << "accepted " << doc.dump();
    } catch (const ernie::ConfigError& e) {
      ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
      EXPECT_EQ(e.diagnostics()[0].field, "model_type");
      EXPECT_TRUE(contains(e.what(), " is read and explained only (ernie config explain|validate|doctor); this "
                                     "engine runs ERNIE, BERT and RoBERTa encoders"))
          << e.what();
    }
  }
}

// ---- doctor ------------------------------------------------------------------------------------

TEST(Seq2SeqConfig, DoctorDiagnosesStaticPositionEmbeddings) {
  const std::string en = ernie::doctor_config(fixture("bart-base"), "static_position_embeddings", "en");
  EXPECT_TRUE(contains(en, "Explaining: AttributeError: 'BartConfig' object has no attribute "
                           "'static_position_embeddings'")) << en;
  EXPECT_TRUE(contains(en, "In this file: no static_position_embeddings.")) << en;
  EXPECT_TRUE(contains(en, "code and transformers from different versions")) << en;
  EXPECT_TRUE(contains(en, "add \"static_position_embeddings\": false to config.json")) << en;
  EXPECT_TRUE(contains(en, "pip install \"transformers>=2.9.0,<4.2\"")) << en;
  EXPECT_TRUE(contains(en, "PR #3908")) << en;
  EXPECT_TRUE(contains(en, "PR #9343 (v4.2.0)")) << en;
  // The whole error line works as --attr too; Chinese answers the same.
  const std::string zh = ernie::doctor_config(
      fixture("bart-base"), "AttributeError: 'BartConfig' object has no attribute 'static_position_embeddings'", "zh");
  EXPECT_TRUE(contains(zh, "错误原因：代码与 transformers 版本不一致")) << zh;
  EXPECT_TRUE(contains(zh, "在 config.json 中加入 \"static_position_embeddings\": false")) << zh;
  // Marian's value is true; a file that has the key points elsewhere; BERT never had it.
  EXPECT_TRUE(contains(ernie::doctor_config(fixture("opus-mt-en-de"), "normalize_embedding", "en"),
                       "In this file: normalize_embedding = false"));
  json marian = doc_of("opus-mt-en-de");
  marian.erase("static_position_embeddings");
  TempDir dir;
  write_file(dir / "config.json", marian.dump());
  EXPECT_TRUE(contains(ernie::doctor_config(dir.path(), "static_position_embeddings", "en"),
                       "add \"static_position_embeddings\": true to config.json"));
  const std::string bert =
      ernie::doctor_config(source_dir() / "configs" / "ernie-1.0-base-zh.json", "static_position_embeddings", "en");
  EXPECT_TRUE(contains(bert, "ErnieConfig never had static_position_embeddings")) << bert;
  EXPECT_TRUE(contains(ernie::doctor_config(fixture("bart-base"), "static_positon_embeddings", "en"),
                       "did you mean static_position_embeddings?"));
}

TEST(Seq2SeqConfig, DoctorWithoutAttrListsWhatOldCodeWouldMiss) {
  const std::string en = ernie::doctor_config(fixture("bart-base"), "", "en");
  EXPECT_TRUE(contains(en, "Validation: ok")) << en;
  EXPECT_TRUE(contains(en, "normalize_before = false: as model_type bart is built")) << en;
  EXPECT_TRUE(contains(en, "\"static_position_embeddings\": false")) << en;
  EXPECT_FALSE(contains(en, "\"normalize_before\"")) << en;  // present in the file
}

// ---- command line ------------------------------------------------------------------------------

TEST(Seq2SeqConfigCli, ExplainValidateAndDoctor) {
  const std::string path = "'" + fixture("bart-base").string() + "'";
  const auto explain = run_cli("config explain " + path);
  EXPECT_EQ(explain.status, 0) << explain.err;
  EXPECT_TRUE(contains(explain.out, "139,420,416")) << explain.out;
  const auto json_out = run_cli("config explain --json " + path);
  ASSERT_EQ(json_out.status, 0) << json_out.err;
  EXPECT_EQ(json::parse(json_out.out)["parameters"]["total"], 139420416);
  const auto validate = run_cli("config validate " + path);
  EXPECT_EQ(validate.status, 0) << validate.err;
  EXPECT_EQ(validate.out.rfind("ok: bart (read and explained only), BartForConditionalGeneration, 6+6 layers", 0), 0u)
      << validate.out;
  const auto doctor = run_cli("config doctor " + path + " --attr static_position_embeddings --lang zh");
  EXPECT_EQ(doctor.status, 0) << doctor.err;
  EXPECT_TRUE(contains(doctor.out, "\"static_position_embeddings\": false")) << doctor.out;

  TempDir dir;
  json bad = doc_of("bart-base");
  bad["d_model"] = 1000;
  write_file(dir / "config.json", bad.dump());
  const auto broken = run_cli("config validate '" + dir.path().string() + "'");
  EXPECT_EQ(broken.status, 1);
  EXPECT_EQ(broken.err, "ernie: error: d_model (1000) must be divisible by encoder_attention_heads (12) and "
                        "decoder_attention_heads (12)\n");
}

TEST(Seq2SeqConfigCli, RunInitTrainRefuseWithOneLine) {
  TempDir dir;
  write_file(dir / "config.json", read_file(fixture("bart-base")));
  write_file(dir / "train.tsv", "a\t0\n");
  write_file(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n");
  const std::string expected =
      "ernie: error: model_type bart is read and explained only (ernie config explain|validate|doctor); this "
      "engine runs ERNIE, BERT and RoBERTa encoders\n";
  const std::string cfg = "'" + (dir / "config.json").string() + "'";
  for (const std::string& args :
       {"init --config " + cfg + " --out '" + (dir / "out").string() + "'",
        "train --config " + cfg + " --vocab '" + (dir / "vocab.txt").string() + "' --train '" +
            (dir / "train.tsv").string() + "' --out '" + (dir / "trained").string() + "'"}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_EQ(r.err, expected) << args;
  }
}

}  // namespace

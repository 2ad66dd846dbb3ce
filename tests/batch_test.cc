// Padded inputs -> packed batches: masks, position ids, limits and errors.
#include <gtest/gtest.h>

#include "ernie/batch.h"
#include "ernie/error.h"
#include "test_util.h"

using namespace ernie;

namespace {

Tensor ids2d(std::vector<std::vector<int64_t>> rows) {
  const int64_t B = rows.size(), L = rows[0].size();
  Tensor t = Tensor::empty(DType::I64, {B, L});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < L; ++j) t.data<int64_t>()[b * L + j] = rows[b][j];
  return t;
}

Config small(const std::string& extra = "") {
  return parse_config(R"({"model_type": "bert", "vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 6)" +
                      extra + "}");
}

std::string error_of(const PaddedInputs& in, const Config& cfg, PackOptions opts = {}) {
  return ernie::testing::error_of([&] { pack_padded(in, cfg, opts); });
}

}  // namespace

TEST(Batch, PacksOnlyAttendedTokensWithOffsets) {
  PaddedInputs in;
  in.input_ids = ids2d({{5, 6, 7, 0}, {8, 9, 0, 0}});
  in.attention_mask = ids2d({{1, 1, 1, 0}, {1, 1, 0, 0}});
  in.token_type_ids = ids2d({{0, 0, 1, 0}, {0, 1, 0, 0}});
  const Batch b = pack_padded(in, small());
  EXPECT_EQ(b.rows, 2);
  EXPECT_EQ(b.offsets, (std::vector<int64_t>{0, 3, 5}));
  EXPECT_EQ(b.input_ids, (std::vector<int32_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(b.token_type_ids, (std::vector<int32_t>{0, 0, 1, 0, 1}));
  EXPECT_EQ(b.position_ids, (std::vector<int32_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(b.column, (std::vector<int32_t>{0, 1, 2, 0, 1}));
}

TEST(Batch, WithoutMaskHuggingFaceAttendsAllPaddleMasksPadIds) {
  PaddedInputs in;
  in.input_ids = ids2d({{5, 0, 7, 0}});
  EXPECT_EQ(pack_padded(in, small()).tokens(), 4);
  PackOptions paddle;
  paddle.mask = MaskRule::MaskPadIds;
  const Batch b = pack_padded(in, small(), paddle);
  EXPECT_EQ(b.input_ids, (std::vector<int32_t>{5, 7}));
  EXPECT_EQ(b.position_ids, (std::vector<int32_t>{0, 2}));   // positions keep their columns
}

// transformers' create_position_ids_from_input_ids: cumsum(ids != pad) * (ids != pad) + pad.
// For ids [0, 5, 1, 7] with pad 1: mask [1,1,0,1], cumsum [1,2,2,3] -> [2, 3, 1, 4].
TEST(Batch, RobertaPositionIdsFollowTransformers) {
  Config cfg = parse_config(R"({"model_type": "roberta", "vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 1,
                                "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 10})");
  PaddedInputs in;
  in.input_ids = ids2d({{0, 5, 1, 7}});
  EXPECT_EQ(pack_padded(in, cfg).position_ids, (std::vector<int32_t>{2, 3, 1, 4}));
  EXPECT_EQ(cfg.max_sequence_length(), 8);   // 10 positions minus the offset pad_token_id + 1
}

TEST(Batch, TaskTypeIdsDefaultToTaskId) {
  Config cfg = small(R"(, "model_type": "ernie", "use_task_id": true, "task_type_vocab_size": 3, "task_id": 2)");
  PaddedInputs in;
  in.input_ids = ids2d({{5, 6}});
  EXPECT_EQ(pack_padded(in, cfg).task_type_ids, (std::vector<int32_t>{2, 2}));
}

TEST(Batch, OverLongInputNamesBothNumbersOrTruncates) {
  PaddedInputs in;
  in.input_ids = ids2d({{1, 2, 3, 4, 5, 6, 7, 8}});
  const std::string err = error_of(in, small());
  EXPECT_NE(err.find("position 6"), std::string::npos) << err;
  EXPECT_NE(err.find("at most 6 tokens"), std::string::npos) << err;
  PackOptions cut;
  cut.truncate = true;
  EXPECT_EQ(pack_padded(in, small(), cut).tokens(), 6);
}

TEST(Batch, BadInputsAreClearErrors) {
  PaddedInputs in;
  in.input_ids = ids2d({{5, 100}});
  EXPECT_NE(error_of(in, small()).find("input_ids[0][1] = 100 is outside [0, 100)"), std::string::npos);

  in.input_ids = ids2d({{5, 6}});
  in.attention_mask = ids2d({{1, 2}});
  EXPECT_NE(error_of(in, small()).find("attention_mask[0][1] = 2"), std::string::npos);

  in.attention_mask = ids2d({{0, 0}});
  EXPECT_NE(error_of(in, small()).find("row 0 has no token"), std::string::npos);

  in.attention_mask = ids2d({{1, 1, 1}});
  EXPECT_NE(error_of(in, small()).find("attention_mask has shape [1, 3]"), std::string::npos);

  in.attention_mask = Tensor();
  in.token_type_ids = ids2d({{0, 2}});
  EXPECT_NE(error_of(in, small()).find("token_type_ids[0][1] = 2"), std::string::npos);

  in.token_type_ids = Tensor();
  in.input_ids = Tensor::zeros(DType::F32, {1, 2});
  EXPECT_FALSE(error_of(in, small()).empty());   // float ids are refused
}

TEST(Batch, UnpackPutsZerosAtMaskedPositions) {
  PaddedInputs in;
  in.input_ids = ids2d({{5, 6, 0}, {7, 0, 0}});
  in.attention_mask = ids2d({{1, 1, 0}, {1, 0, 0}});
  const Batch b = pack_padded(in, small());
  Tensor packed = Tensor::empty(DType::F32, {3, 2});
  for (int i = 0; i < 6; ++i) packed.data<float>()[i] = static_cast<float>(i + 1);
  const Tensor out = unpack_padded(packed, b);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 2}));
  const std::vector<float> want = {1, 2, 3, 4, 0, 0, 5, 6, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<float>(out.data<float>(), out.data<float>() + 12), want);
}

// PaddleNLP's BertPooler applies tanh only when pool_act == "tanh"; its ErniePooler and every
// transformers pooler always apply tanh.
TEST(Config, PoolerActivationFollowsEachLibrary) {
  auto act = [](const std::string& json) { return parse_config(json).pooler_activation(); };
  EXPECT_EQ(act(R"({"model_type": "bert", "paddlenlp_version": null, "pool_act": "relu"})"), Activation::Linear);
  EXPECT_EQ(act(R"({"model_type": "bert", "paddlenlp_version": null, "pool_act": "tanh"})"), Activation::Tanh);
  EXPECT_EQ(act(R"({"model_type": "ernie", "paddlenlp_version": null, "pool_act": "relu"})"), Activation::Tanh);
  EXPECT_EQ(act(R"({"model_type": "bert", "transformers_version": "4.0", "pool_act": "relu"})"), Activation::Tanh);
}

// ernie resize-positions: the rules of ernie/model_folder.h on a fixture model, row by row, the
// written folder loading and running at the new length, and refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "ernie/error.h"
#include "ernie/model_folder.h"
#include "ernie/safetensors.h"
#include "test_util.h"

namespace ernie {
namespace {

const char* kTable = "bert.embeddings.position_embeddings.weight";

Tensor table_of(const std::filesystem::path& dir) { return read_safetensors(dir / "model.safetensors").tensors.at(kTable); }

TEST(ResizePositions, CopyInterpolateRandomAndShrink) {
  testing::TempDir tmp;
  const auto src = testing::fixtures_dir() / "bert_gelu_mlm";   // 40 positions, H 32
  const Model m = Model::load(src);
  const Tensor old = table_of(src);
  const int64_t H = old.dim(1), P = old.dim(0);
  auto row = [&](const Tensor& t, int64_t r, int64_t k) { return t.data<float>()[r * H + k]; };

  resize_positions(m, 100, PositionInit::Copy, tmp.path() / "copy", src);
  const Tensor c = table_of(tmp.path() / "copy");
  ASSERT_EQ(c.dim(0), 100);
  for (int64_t r : {0L, 39L, 40L, 41L, 79L, 80L, 99L})
    for (int64_t k = 0; k < H; ++k) ASSERT_EQ(row(c, r, k), row(old, r % P, k)) << r;

  resize_positions(m, 79, PositionInit::Interpolate, tmp.path() / "interp", src);
  const Tensor in = table_of(tmp.path() / "interp");
  ASSERT_EQ(in.dim(0), 79);
  for (int64_t k = 0; k < H; ++k) {
    EXPECT_EQ(row(in, 0, k), row(old, 0, k));
    EXPECT_FLOAT_EQ(row(in, 78, k), row(old, 39, k));
    // New row 39 sits at old position 39 * 39 / 78 = 19.5: halfway between rows 19 and 20.
    EXPECT_NEAR(row(in, 39, k), 0.5 * (row(old, 19, k) + row(old, 20, k)), 1e-6);
  }

  resize_positions(m, 60, PositionInit::Random, tmp.path() / "random", src, 7);
  const Tensor rnd = table_of(tmp.path() / "random");
  double ss = 0;
  for (int64_t r = 40; r < 60; ++r)
    for (int64_t k = 0; k < H; ++k) ss += row(rnd, r, k) * row(rnd, r, k);
  EXPECT_NEAR(std::sqrt(ss / (20.0 * H)), m.config().initializer_range, 0.3 * m.config().initializer_range);
  for (int64_t k = 0; k < H; ++k) EXPECT_EQ(row(rnd, 39, k), row(old, 39, k));

  resize_positions(m, 20, PositionInit::Interpolate, tmp.path() / "short", src);
  const Tensor sh = table_of(tmp.path() / "short");
  ASSERT_EQ(sh.dim(0), 20);
  for (int64_t k = 0; k < H; ++k) EXPECT_EQ(row(sh, 19, k), row(old, 19, k));   // shrinking keeps the first rows

  // The folder loads with the new limit and runs a sequence longer than the old one.
  const Model big = Model::load(tmp.path() / "copy");
  EXPECT_EQ(big.config().max_position_embeddings, 100);
  Tensor ids = Tensor::empty(DType::I64, {1, 60});   // longer than the old 40 positions
  for (int64_t i = 0; i < 60; ++i) ids.data<int64_t>()[i] = 5 + i % 50;
  const Outputs out = big.forward(pack_padded({ids, Tensor(), Tensor(), Tensor()}, big.config()));
  EXPECT_EQ(out.logits.dim(0), 60);
  EXPECT_THROW(m.forward(pack_padded({ids, Tensor(), Tensor(), Tensor()}, m.config())), Error);
}

TEST(ResizePositions, RefusesWhatItCannotResize) {
  testing::TempDir tmp;
  const Model rel = Model::load(testing::fixtures_dir() / "bert_relative_key_model");
  EXPECT_THROW(resize_positions(rel, 80, PositionInit::Copy, tmp.path() / "x"), Error);
  const Model sin = Model::load(testing::fixtures_dir() / "ernie_sinusoidal_model");
  EXPECT_THROW(resize_positions(sin, 80, PositionInit::Copy, tmp.path() / "y"), Error);
  EXPECT_THROW(parse_position_init("stretch"), Error);
  const auto r = testing::run_cli("resize-positions --model '" + (testing::fixtures_dir() / "bert_gelu_mlm").string() +
                                  "' --out '" + (tmp.path() / "z").string() + "' --max-positions 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--max-positions must be more than 1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ernie

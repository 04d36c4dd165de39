#include "parti/model/config.h"

#include <gtest/gtest.h>

#include "parti/core/check.h"

namespace parti::model {
namespace {

TEST(Config, Presets) {
  ModelConfig tiny = preset("tiny");
  EXPECT_EQ(tiny.layers, 4);
  EXPECT_EQ(tiny.heads, 4);
  EXPECT_EQ(tiny.dim, 128);
  EXPECT_EQ(tiny.seq_len, 64);
  ModelConfig small = preset("small");
  EXPECT_EQ(small.layers, 6);
  EXPECT_EQ(small.dim, 384);
  EXPECT_EQ(small.seq_len, 256);
  EXPECT_EQ(preset("gpt2-xl").dim, 1600);
  EXPECT_EQ(tiny.padded_vocab(), 50304);
  EXPECT_THROW(preset("gpt5"), ConfigError);
}

TEST(Config, ValidateNamesTheFlags) {
  ModelConfig bad{4, 5, 128, 64, 100};
  auto errors = validate(bad);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "--heads 5 does not divide --dim 128");
  EXPECT_EQ(validate(ModelConfig{0, 4, 128, 64, 100}).size(), 1u);
}

TEST(Config, FlopsPerToken) {
  ModelConfig c = preset("gpt2");
  EXPECT_DOUBLE_EQ(flops_per_token(c, 256), 6.0 * 124439808.0 + 12.0 * 12 * 768 * 256);
}

}  // namespace
}  // namespace parti::model

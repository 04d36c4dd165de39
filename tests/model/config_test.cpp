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

// Issue #17: the Llama presets have the published shapes: their parameter counts are Hugging
// Face's for Llama 3.2 1B (tied) and Llama 3 8B (untied), 128,256-token vocabulary.
TEST(Config, LlamaPresetsCountThePublishedParameters) {
  EXPECT_EQ(parameter_count(preset("llama3-1b")), 1235814400LL);
  EXPECT_EQ(parameter_count(preset("llama3-8b")), 8030261248LL);
  const ModelConfig tiny = preset("llama-tiny");
  EXPECT_EQ(tiny.family, "llama");
  EXPECT_EQ(tiny.key_value_heads(), 2);
  EXPECT_FALSE(tiny.tie_embeddings);
  EXPECT_TRUE(validate(tiny).empty());
  // The untied embedding is a lookup: no FLOPs of its own.
  EXPECT_DOUBLE_EQ(
      flops_per_token(tiny, 64),
      6.0 * static_cast<double>(parameter_count(tiny) - 50257LL * 128) + 12.0 * 4 * 128 * 64);
}

TEST(Config, LlamaRulesNameTheirFlags) {
  ModelConfig m = preset("llama-tiny");
  m.kv_heads = 3;
  m.ffn_dim = 0;
  m.rope_theta = 0.5;
  const std::vector<std::string> errors = validate(m);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0],
            "--kv-heads 3 does not divide --heads 4 (grouped-query attention shares each "
            "key/value head among heads / kv-heads query heads)");
  EXPECT_EQ(errors[1], "--ffn-dim must be positive, got 0");
  EXPECT_EQ(errors[2], "--rope-theta must be a finite number above 1, got 0.5");
  ModelConfig gpt = preset("tiny");
  gpt.tie_embeddings = false;
  EXPECT_EQ(validate(gpt),
            std::vector<std::string>{
                "--no-tie-embeddings: GPT-2's output projection is its token embedding"});
}

}  // namespace
}  // namespace parti::model

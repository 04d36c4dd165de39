#include "parti/train/config.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace parti::train {
namespace {

TEST(TrainConfig, ValidateCollectsEveryViolation) {
  TrainConfig cfg;
  cfg.model = model::preset("tiny");
  cfg.model.heads = 5;
  cfg.data.dir = "d";
  cfg.data.batch.global_batch = 6;
  cfg.layout.micro_batch = 4;
  cfg.steps = 0;
  cfg.io.resume = true;
  const std::vector<std::string> errors = validate(cfg);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0], "--heads 5 does not divide --dim 128");
  EXPECT_EQ(errors[1], "--micro-batch 4 does not divide --global-batch 6");
  EXPECT_EQ(errors[2], "--steps must be positive, got 0");
  EXPECT_EQ(errors[3], "--resume needs --ckpt-dir (the folder to resume from)");
}

// NaN passes every `x < 0` test: each numeric flag is checked so that NaN and infinities fail.
TEST(TrainConfig, NonFiniteNumbersAreRejected) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    TrainConfig cfg;
    cfg.model = model::preset("tiny");
    cfg.data.dir = "d";
    cfg.optim.lr = bad;
    cfg.optim.grad_clip = bad;
    cfg.optim.adamw.weight_decay = bad;
    cfg.layout.bucket_mb = bad;
    cfg.comm_timeout = bad;
    cfg.guard.skip_spikes = bad;
    const std::vector<std::string> errors = validate(cfg);
    std::string all;
    for (const std::string& e : errors) all += e + "\n";
    for (const char* flag : {"--lr", "--grad-clip", "--weight-decay", "--bucket-mb",
                             "--comm-timeout", "--skip-spikes"}) {
      EXPECT_NE(all.find(flag), std::string::npos) << flag << " accepted " << bad << ":\n" << all;
    }
    EXPECT_EQ(errors.size(), 6u) << all;
  }
  TrainConfig cfg;
  cfg.model = model::preset("tiny");
  cfg.data.dir = "d";
  cfg.optim.min_lr = std::numeric_limits<double>::quiet_NaN();
  cfg.guard.max_skipped = 0;
  const std::vector<std::string> errors = validate(cfg);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("--min-lr nan"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1], "--max-skipped must be at least 1, got 0");
}

// Tensor and sequence parallelism name their rules.
TEST(TrainConfig, TensorParallelRulesAreNamed) {
  TrainConfig cfg;
  cfg.model = model::preset("tiny");  // 4 heads, seq-len 64, vocabulary padded to 50304
  cfg.model.vocab = 50257;
  cfg.data.dir = "d";
  cfg.layout.tp = 5;
  cfg.layout.sp = true;
  cfg.model.seq_len = 64;
  std::vector<std::string> errors = validate(cfg);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], "--tp 5 does not divide --heads 4 (tensor parallelism splits the heads)");
  EXPECT_EQ(errors[1],
            "--tp 5 does not divide the padded vocabulary of 50304 rows (a multiple of 128)");
  EXPECT_EQ(errors[2], "--tp 5 does not divide --seq-len 64 (--sp splits the sequence over tp)");
  cfg.layout.tp = 1;
  errors = validate(cfg);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "--sp needs --tp of at least 2 (it splits the tokens over the tp group)");
  cfg.layout.tp = 4;
  EXPECT_TRUE(validate(cfg).empty());
}

TEST(TrainConfig, JsonHasTheResolvedFields) {
  TrainConfig cfg;
  cfg.model = model::preset("small");
  cfg.data.dir = "d";
  auto j = to_json(cfg);
  EXPECT_EQ(j["model"]["padded_vocab"], 50304);
  EXPECT_EQ(j["accumulation"], 1);
  model::ModelConfig back = model_from_json(j["model"]);
  EXPECT_EQ(back.dim, 384);
  EXPECT_EQ(back.seq_len, 256);
}

}  // namespace
}  // namespace parti::train

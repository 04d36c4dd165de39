#include "parti/parallel/layout.h"

#include <gtest/gtest.h>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"
#include "parti/parallel/pipeline/stage.h"

namespace parti::parallel {
namespace {

// 4 layers, 4 heads, seq-len 64, vocabulary padded to 50304 (= 3 x 16768: tp 3 divides it).
model::ModelConfig tiny() { return model::preset("tiny"); }

TEST(Layout, RulesNameTheirFlags) {
  Layout l{.dp = 2, .tp = 3, .pp = 2, .cp = 3, .sp = true, .zero = 2, .micro_batch = 4};
  const std::vector<std::string> errors = validate(l, tiny(), 12);
  const std::vector<std::string> expected = {
      "--global-batch 12 is not a multiple of --micro-batch 4 x --dp 2",
      "--tp 3 does not divide --heads 4 (tensor parallelism splits the heads)",
      "--tp 3 does not divide the 21 tokens of a sequence each cp rank holds (--seq-len 64 / --cp "
      "3; --sp splits them over tp)",
      "--seq-len 64 is not a multiple of 2 x --cp 3 (context parallelism cuts each sequence into 2 "
      "x cp = 6 chunks)"};
  EXPECT_EQ(errors, expected);
  EXPECT_TRUE(
      validate({.dp = 2, .tp = 2, .pp = 2, .sp = true, .micro_batch = 2}, tiny(), 8).empty());
}

// Issue #17: tensor parallelism splits a Llama's key/value heads and MLP units too.
TEST(Layout, TpMustDivideTheKeyValueHeads) {
  model::ModelConfig m = model::preset("llama-tiny");  // 4 heads, 2 key/value heads, ffn 384
  EXPECT_TRUE(validate({.tp = 2, .micro_batch = 1}, m, 8).empty());
  const std::vector<std::string> errors = validate({.tp = 4, .micro_batch = 1}, m, 8);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "--tp 4 does not divide --kv-heads 2 (tensor parallelism splits the key/value heads "
            "too)");
}

// The cheap checks say exactly what building the schedule or the split would throw.
TEST(Layout, ScheduleAndSplitChecksMatchWhatBuildingThrows) {
  int refused = 0;
  for (const char* name : {"gpipe", "1f1b", "interleaved", "zb", "pipedream"}) {
    for (int P = 0; P <= 4; ++P) {
      for (int M = 0; M <= 6; ++M) {
        for (int V = 0; V <= 3; ++V) {
          std::string thrown;
          try {
            pipeline::make_schedule(name, P, M, V);
          } catch (const ConfigError& e) {
            thrown = e.what();
          }
          EXPECT_EQ(pipeline::schedule_error(name, P, M, V), thrown)
              << name << " P " << P << " M " << M << " V " << V;
          refused += thrown.empty() ? 0 : 1;
        }
      }
    }
  }
  EXPECT_GT(refused, 100);
  model::ModelConfig m = tiny();
  for (int chunks = 0; chunks <= 5; ++chunks) {
    for (const std::vector<int>& split :
         {std::vector<int>{}, {2, 2}, {1, 3}, {0, 4}, {1, 1, 1, 1}, {1, 1, 1}}) {
      std::string thrown;
      try {
        pipeline::split_layers(m, chunks, split);
      } catch (const ConfigError& e) {
        thrown = e.what();
      }
      EXPECT_EQ(pipeline::split_error(m.layers, chunks, split), thrown) << chunks;
    }
  }
}

TEST(Layout, SizesAndRecompute) {
  const Layout l{.dp = 2, .tp = 2, .pp = 3, .cp = 2, .micro_batch = 2, .recompute = "selective"};
  EXPECT_EQ(l.ranks(), 24);
  EXPECT_EQ(l.grad_ranks(), 4);
  EXPECT_EQ(l.micro_batches(16), 4);
  EXPECT_EQ(l.recompute_mode(), model::Recompute::selective);
  EXPECT_EQ(validate({.recompute = "some"}, tiny(), 8),
            std::vector<std::string>{"--recompute some: expected none, full or selective"});
}

}  // namespace
}  // namespace parti::parallel

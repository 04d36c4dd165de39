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

// Issue #21: block partitioning's rules, and 2.5D as the 2D layout it runs as.
TEST(Layout, GridRulesNameTheirFlags) {
  const auto errors = [](Layout l, int global_batch = 8) {
    return validate(l, tiny(), global_batch);
  };
  EXPECT_TRUE(errors({.tp = 4, .tp_mode = "2d", .micro_batch = 2}).empty());
  EXPECT_EQ(errors({.tp = 8, .tp_mode = "2d", .micro_batch = 2}),
            std::vector<std::string>{
                "--tp-mode 2d needs --tp a square of at least 4 (a q x q grid), got 8"});
  EXPECT_EQ(
      errors({.tp = 4, .sp = true, .tp_mode = "2d", .micro_batch = 1}),
      (std::vector<std::string>{
          "--tp 4 as a 2 x 2 grid: 2 does not divide --micro-batch 1 (the grid's rows split the "
          "samples)",
          "--sp with --tp-mode 2d: the grid already splits the tokens between sublayers"}));
  EXPECT_TRUE(errors({.tp = 16, .tp_mode = "2d", .micro_batch = 4}).empty());
  EXPECT_EQ(errors({.tp = 9, .tp_mode = "2d", .micro_batch = 3}, 9),
            (std::vector<std::string>{
                "--tp 9 as a 3 x 3 grid: 3 does not divide --heads 4 (tensor parallelism splits "
                "the heads)",
                "--tp 9 as a 3 x 3 grid: 3 does not divide --dim 128 (the grid cuts the width)"}));
  EXPECT_EQ(
      errors({.tp = 8, .tp_mode = "2.5d", .tp_depth = 2, .micro_batch = 2}),
      std::vector<std::string>{
          "--tp 8 as 2 grids of 2 x 2: 4 does not divide --micro-batch 2 (the grid's rows and "
          "depth split the samples)"});
  EXPECT_EQ(errors({.tp = 8, .tp_mode = "2.5d", .micro_batch = 4}),
            std::vector<std::string>{
                "--tp-mode 2.5d needs --tp-depth of at least 2, got 1 (depth 1 is --tp-mode 2d)"});
  EXPECT_EQ(errors({.tp = 4, .tp_mode = "3d", .micro_batch = 4}),
            std::vector<std::string>{"--tp-mode 3d: expected 1d, 2d or 2.5d"});
  const Layout l{.dp = 2, .tp = 8, .tp_mode = "2.5d", .tp_depth = 2, .micro_batch = 4};
  ASSERT_TRUE(errors(l, 16).empty());
  const Layout g = l.grid_equivalent();
  EXPECT_EQ(std::tie(g.dp, g.tp, g.micro_batch, g.tp_mode, g.tp_depth),
            std::make_tuple(4, 4, 2, std::string("2d"), 1));
  EXPECT_EQ(g.micro_batches(16), l.micro_batches(16));
  EXPECT_TRUE(errors(g, 16).empty());
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

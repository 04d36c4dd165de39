// The pipeline's layer split: by default the costliest chunk is as cheap as any split can make
// it (checked against every split of small models), the logits' cost moves blocks off the last
// chunk (gpt2 on 4 stages: 4, 4, 3, 1), and an explicit --pp-layers is checked.
#include "parti/parallel/pipeline/stage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "parti/core/check.h"

namespace parti::parallel::pipeline {
namespace {

double worst(const model::ModelConfig& cfg, const std::vector<int>& split) {
  const std::vector<double> c = chunk_costs(cfg, split);
  return *std::max_element(c.begin(), c.end());
}

TEST(Stage, BalancedSplitIsOptimal) {
  for (const char* name : {"tiny", "small", "gpt2"}) {
    model::ModelConfig cfg = model::preset(name);
    cfg.vocab = 50257;
    for (int layers = 1; layers <= 10; ++layers) {
      cfg.layers = layers;
      for (int chunks = 1; chunks <= std::min(layers, 5); ++chunks) {
        const std::vector<int> split = split_layers(cfg, chunks);
        ASSERT_EQ(static_cast<int>(split.size()), chunks);
        EXPECT_EQ(std::accumulate(split.begin(), split.end(), 0), layers);
        // Every split with at least one block a chunk.
        double best = 1e300;
        std::vector<int> any(static_cast<size_t>(chunks));
        std::function<void(int, int)> visit = [&](int c, int left) {
          if (c == chunks - 1) {
            any.back() = left;
            if (left >= 1) best = std::min(best, worst(cfg, any));
            return;
          }
          for (int n = 1; n <= left - (chunks - 1 - c); ++n) {
            any[static_cast<size_t>(c)] = n;
            visit(c + 1, left - n);
          }
        };
        visit(0, layers);
        EXPECT_DOUBLE_EQ(worst(cfg, split), best)
            << name << " L " << layers << " chunks " << chunks;
      }
    }
  }
}

TEST(Stage, LogitsMoveBlocksOffTheLastChunk) {
  model::ModelConfig cfg = model::preset("gpt2");
  cfg.vocab = 50257;
  EXPECT_EQ(split_layers(cfg, 4), (std::vector<int>{4, 4, 3, 1}));
  EXPECT_LT(worst(cfg, {4, 4, 3, 1}), worst(cfg, {3, 3, 3, 3}));
  EXPECT_EQ(split_layers(cfg, 1), (std::vector<int>{12}));
}

TEST(Stage, ExplicitSplitIsChecked) {
  model::ModelConfig cfg = model::preset("gpt2");
  EXPECT_EQ(split_layers(cfg, 3, {5, 5, 2}), (std::vector<int>{5, 5, 2}));
  auto message = [&](int chunks, const std::vector<int>& split) {
    try {
      split_layers(cfg, chunks, split);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(3, {6, 6}), "--pp-layers has 2 entries for 3 chunks (--pp x --virtual-stages)");
  EXPECT_EQ(message(3, {6, 6, 0}), "--pp-layers: every chunk needs at least one block, got 0");
  EXPECT_EQ(message(3, {5, 5, 5}), "--pp-layers sums to 15, not --layers 12");
  EXPECT_EQ(
      message(13, {}),
      "--layers 12 cannot fill 13 pipeline chunks (--pp x --virtual-stages) with a block each");
}

}  // namespace
}  // namespace parti::parallel::pipeline

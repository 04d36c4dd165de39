// Datasets blended by weight (issue #19): the flag's forms and errors, Megatron's greedy shares
// (exact to one sample at every n, whatever order the picks are asked in), and a sampler whose
// rows are the same drawn together or a rank's share at a time, and which for one dataset draws
// what the sampler drew before blends existed.
#include "parti/data/blend.h"

#include <gtest/gtest.h>

#include <cmath>

#include "parti/core/check.h"
#include "parti/core/rng.h"
#include "parti/data/sampler.h"

namespace parti::data {
namespace {

TEST(Blend, FlagFormsAndErrors) {
  const auto one = parse_blend("data/brown");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].dir, "data/brown");
  EXPECT_EQ(one[0].weight, 1.0);
  const auto two = parse_blend("a:7,dir:with:colons:3");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].dir, "a");
  EXPECT_EQ(two[1].dir, "dir:with:colons");
  EXPECT_DOUBLE_EQ(two[0].weight, 0.7);
  EXPECT_DOUBLE_EQ(two[1].weight, 0.3);
  for (const std::string bad : {"a:0.5,b", "a:0,b:1", "a:-1,b:2", "a:nan,b:1", ":1,b:1", "a:1,"}) {
    EXPECT_THROW(parse_blend(bad), ConfigError) << bad;
  }
}

TEST(Blend, SharesAreExactToOneSampleAtEveryN) {
  const std::vector<double> w = {0.5, 0.3, 0.2 - 1e-3, 1e-3};
  const BlendSchedule s(w);
  std::vector<uint64_t> counts(w.size(), 0);
  std::vector<BlendSchedule::Pick> picks;
  for (uint64_t n = 0; n < 100'000; ++n) {
    const BlendSchedule::Pick p = s.at(n);
    ASSERT_EQ(p.index, counts[static_cast<size_t>(p.dataset)]) << n;
    ++counts[static_cast<size_t>(p.dataset)];
    picks.push_back(p);
    for (size_t k = 0; k < w.size(); ++k) {
      ASSERT_LT(std::abs(static_cast<double>(counts[k]) - w[k] * static_cast<double>(n + 1)), 1.0)
          << "dataset " << k << " after " << n + 1 << " samples";
    }
  }
  // Asked out of order (a resumed run, another rank's rows), the picks are the same.
  const BlendSchedule fresh(w);
  for (const uint64_t n : {77'777ul, 5ul, 5ul, 6ul, 99'999ul, 0ul}) {
    EXPECT_EQ(fresh.at(n).dataset, picks[n].dataset) << n;
    EXPECT_EQ(fresh.at(n).index, picks[n].index) << n;
  }
}

TokenFile counting_tokens(uint32_t base, size_t n) {
  TokenFile f{100'000, 99'999, {}};
  for (size_t i = 0; i < n; ++i) f.tokens.push_back(base + static_cast<uint32_t>(i % 20'000));
  return f;
}

TEST(Blend, SamplerRowsAreTheSameDrawnTogetherOrByShare) {
  const TokenFile a = counting_tokens(0, 30'000), b = counting_tokens(50'000, 9'000);
  const int T = 16, G = 8;
  const Sampler whole(Blend({a, b}, {0.75, 0.25}), T, G, 3);
  const Sampler shares(Blend({a, b}, {0.75, 0.25}), T, G, 3);
  int from_b = 0;
  for (int64_t step = 0; step < 40; ++step) {
    std::vector<int32_t> in(G * T), tg(G * T), in2(G * T), tg2(G * T);
    whole.fill(step, 0, G, in.data(), tg.data());
    for (int first = 0; first < G; first += 2) {  // four ranks of two rows, in reverse order
      const int r = G - 2 - first;
      shares.fill(step, r, 2, in2.data() + r * T, tg2.data() + r * T);
    }
    EXPECT_EQ(in, in2) << step;
    EXPECT_EQ(tg, tg2) << step;
    for (int r = 0; r < G; ++r) {
      const auto [dataset, start] = whole.start_of(step, r);
      const TokenFile& f = dataset == 0 ? a : b;
      EXPECT_EQ(static_cast<uint32_t>(in[static_cast<size_t>(r * T)]), f.tokens[start]);
      from_b += dataset;
    }
  }
  EXPECT_EQ(from_b, 80);  // a quarter of 320 samples, exactly
}

TEST(Blend, OneDatasetDrawsAsTheSamplerAlwaysDid) {
  const TokenFile a = counting_tokens(0, 30'000);
  const Sampler s(a, 32, 8, 1337);
  for (int64_t step = 0; step < 20; ++step) {
    for (int i = 0; i < 8; ++i) {
      const uint64_t n = static_cast<uint64_t>(step) * 8 + static_cast<uint64_t>(i);
      const size_t before = core::random_bits(1337, core::name_stream("train"), n) % (30'000 - 32);
      EXPECT_EQ(s.start_of(step, i), std::make_pair(0, before));
    }
  }
}

}  // namespace
}  // namespace parti::data

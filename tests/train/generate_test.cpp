// Generation with the key/value cache (issue #23) against generation without it, for each model
// family: the logits of every position run one at a time through the cache equal the whole
// context's, and greedy output is the same token for token, across context shifts.
#include "parti/train/generate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "parti/core/check.h"
#include "parti/core/rng.h"
#include "parti/model/config.h"
#include "parti/model/kv_cache.h"
#include "parti/model/registry.h"

namespace parti {
namespace {

struct Family {
  std::string preset;
  int seq_len;  // short: the tests cross several context shifts
};

// The families under test (the matrix is data).
const std::vector<Family> kFamilies = {{"tiny", 24}, {"llama-tiny", 24}};

struct Built {
  std::unique_ptr<model::Model<float>> model;
  std::vector<float> params;
};

Built build(const Family& f) {
  model::ModelConfig cfg = model::preset(f.preset);
  cfg.seq_len = f.seq_len;
  cfg.vocab = 300;  // a small vocabulary: sharper random-init logits, fast heads
  Built b{model::make_model<float>(cfg), {}};
  b.params.resize(b.model->table().total());
  b.model->table().init_values<float>(b.params.data(), 7, cfg.layers);
  return b;
}

std::vector<int32_t> random_tokens(int n, int vocab, uint64_t seed) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ids[static_cast<size_t>(i)] = static_cast<int32_t>(
        core::random_uniform(seed, core::name_stream("tokens"), static_cast<uint64_t>(i)) * vocab);
  }
  return ids;
}

// Logits (Tn, V) of `tokens` at positions first .. first + Tn - 1, through `cache` when given.
std::vector<float> logits(Built& b, core::Arena& arena, const std::vector<int32_t>& tokens,
                          int first, model::KvCache<float>* cache) {
  arena.reset();
  model::ActivationRecord<float> record(b.model->table().modules());
  record.tokens = tokens.data();
  const int Tn = static_cast<int>(tokens.size());
  std::vector<int32_t> positions(tokens.size());
  std::iota(positions.begin(), positions.end(), first);
  model::Pass<float> pass{1, Tn, b.model->table(), b.params.data(), nullptr, arena, record};
  pass.positions = positions.data();
  pass.kv = cache;
  const float* out = b.model->logits(pass);
  const size_t V = static_cast<size_t>(b.model->vocab_rows());
  std::vector<float> result(out, out + static_cast<size_t>(Tn) * V);
  if (cache != nullptr) {
    cache->advance(Tn);
  }
  return result;
}

TEST(Generate, CachedLogitsEqualTheWholeContextsAtEveryPosition) {
  for (const Family& f : kFamilies) {
    Built b = build(f);
    core::Arena arena;
    const auto tokens = random_tokens(f.seq_len, b.model->config().vocab, 3);
    const auto whole = logits(b, arena, tokens, 0, nullptr);
    const size_t V = static_cast<size_t>(b.model->vocab_rows());
    model::KvCache<float> cache(f.seq_len);
    // A prefill of 5 positions, then one at a time.
    const std::vector<int32_t> prefill(tokens.begin(), tokens.begin() + 5);
    std::vector<float> cached = logits(b, arena, prefill, 0, &cache);
    for (int t = 5; t < f.seq_len; ++t) {
      const auto one = logits(b, arena, {tokens[static_cast<size_t>(t)]}, t, &cache);
      cached.insert(cached.end(), one.begin(), one.end());
    }
    ASSERT_EQ(cached.size(), whole.size());
    float worst = 0.0f;
    for (size_t i = 0; i < whole.size(); ++i) {
      worst = std::max(worst, std::abs(cached[i] - whole[i]) / (1.0f + std::abs(whole[i])));
    }
    EXPECT_LT(worst, 2e-5f) << f.preset << " (V " << V << ")";
    EXPECT_THROW(logits(b, arena, {1}, f.seq_len, &cache), std::exception)
        << f.preset << ": a full cache refuses another position";
  }
}

// Greedy, then seeded sampling (a random model's greedy output soon repeats one token; samples
// visit many, so they check more positions and shifts): the same draws give the same tokens.
TEST(Generate, GreedyWithTheCacheEqualsGreedyWithoutItTokenForToken) {
  for (const Family& f : kFamilies) {
    Built b = build(f);
    core::Arena arena;
    for (double temperature : {0.0, 1.0}) {
      train::SampleOptions o;
      o.temperature = temperature;
      o.max_tokens = 3 * f.seq_len;  // crosses several context shifts
      for (uint64_t seed : {5, 6}) {
        const auto prompt = random_tokens(7, b.model->config().vocab, seed);
        o.seed = seed;
        o.cache = true;
        std::vector<int32_t> streamed;
        const auto with = train::generate(*b.model, b.params.data(), arena, prompt, o,
                                          [&](int32_t id) { streamed.push_back(id); });
        o.cache = false;
        const auto without = train::generate(*b.model, b.params.data(), arena, prompt, o);
        ASSERT_EQ(with.size(), static_cast<size_t>(o.max_tokens));
        EXPECT_EQ(with, without) << f.preset << ", temperature " << temperature << ", seed "
                                 << seed;
        EXPECT_EQ(streamed, with) << "each token is streamed as it is drawn";
        if (temperature > 0) {  // not a constant sequence
          EXPECT_GT(std::set<int32_t>(with.begin(), with.end()).size(), 20u) << f.preset;
        }
      }
    }
  }
}

TEST(Generate, TopPKeepsTheLikeliestTokensThatReachIt) {
  Built b = build(kFamilies[0]);
  core::Arena arena;
  const auto prompt = random_tokens(4, b.model->config().vocab, 9);
  train::SampleOptions o;
  o.max_tokens = 12;
  o.temperature = 0.0;
  const auto greedy = train::generate(*b.model, b.params.data(), arena, prompt, o);
  o.temperature = 1.0;
  o.top_p = 1e-6;  // only the likeliest token reaches it
  EXPECT_EQ(train::generate(*b.model, b.params.data(), arena, prompt, o), greedy);
  o.top_p = 1.0;
  EXPECT_NE(train::generate(*b.model, b.params.data(), arena, prompt, o), greedy)
      << "sampling from all tokens of a random model";
  o.top_p = 0.0;
  EXPECT_THROW(train::generate(*b.model, b.params.data(), arena, prompt, o), ConfigError);
}

}  // namespace
}  // namespace parti

// Issue #22: the batch schedule's sizes, its rules, its record in state.json; the learning rate
// over tokens and scaled for the batch.
#include "parti/parallel/batch/batch_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "parti/core/check.h"
#include "parti/model/config.h"
#include "parti/optim/lr_schedule.h"

namespace parti::parallel::batch {
namespace {

// Megatron's rule in floating point (RampupBatchsizeNumMicroBatches): the integer form must take
// the same batch after every number of samples where the two agree exactly.
int megatron_batch(int start, int increment, int64_t samples, int global, int64_t consumed) {
  if (consumed > samples) {
    return global;
  }
  const double per_increment = static_cast<double>(samples) / ((global - start) / increment);
  return std::min(
      global, start + static_cast<int>(static_cast<double>(consumed) / per_increment) * increment);
}

TEST(BatchSchedule, RampGrowsEvenlyOverItsSamplesAsMegatronDoes) {
  const BatchConfig c{
      .global_batch = 32, .ramp_start = 8, .ramp_increment = 8, .ramp_samples = 300};
  EXPECT_EQ(c.sizes(), (std::vector<int>{8, 16, 24, 32}));
  BatchSchedule s(c, 64);
  std::vector<int> batches;
  while (s.state().samples < 400) {
    const int g = s.next();
    EXPECT_EQ(g, megatron_batch(8, 8, 300, 32, s.state().samples)) << s.state().samples;
    batches.push_back(g);
    s.advance(g);
  }
  // 100 samples per increment: 13 steps of 8 (104), 6 of 16 (200), 5 of 24 (320), then 32.
  EXPECT_EQ(std::count(batches.begin(), batches.end(), 8), 13);
  EXPECT_EQ(std::count(batches.begin(), batches.end(), 16), 6);
  EXPECT_EQ(std::count(batches.begin(), batches.end(), 24), 5);
  EXPECT_EQ(s.state().tokens, s.state().samples * 64);
  EXPECT_EQ(BatchSchedule(BatchConfig{.global_batch = 12}, 8).next(), 12);
}

TEST(BatchSchedule, StateRoundTripsAndOldCheckpointsHadFixedBatches) {
  BatchSchedule s(
      BatchConfig{.global_batch = 8, .ramp_start = 2, .ramp_increment = 2, .ramp_samples = 40}, 16);
  for (int i = 0; i < 5; ++i) s.advance(s.next());
  nlohmann::json state;
  state["batch"] = s.state().to_json();
  const BatchState back = BatchState::from_state(state, 5, 8, 16);
  EXPECT_EQ(back.samples, s.state().samples);
  EXPECT_EQ(back.tokens, s.state().tokens);
  const BatchState old = BatchState::from_state(nlohmann::json::object(), 7, 8, 16);
  EXPECT_EQ(old.samples, 56);
  EXPECT_EQ(old.tokens, 56 * 16);
  state["batch"]["tokens"] = 3;
  EXPECT_THROW(BatchState::from_state(state, 5, 8, 16), CheckpointError);
  state["batch"]["samples"] = 1e300;
  EXPECT_THROW(BatchState::from_state(state, 5, 8, 16), CheckpointError);
}

// Every message, joined.
std::string errors_of(const BatchConfig& b, const Layout& l) {
  std::string all;
  for (const std::string& e : validate(b, l, model::preset("tiny"))) all += e + "\n";
  return all;
}

TEST(BatchSchedule, RulesNameTheFlagAndTheFirstBatchThatFails) {
  const Layout dp2{.dp = 2, .micro_batch = 2};
  EXPECT_EQ(
      errors_of({.global_batch = 16, .ramp_start = 4, .ramp_increment = 4, .ramp_samples = 64},
                dp2),
      "");
  EXPECT_EQ(
      errors_of({.global_batch = 16, .ramp_start = 4, .ramp_increment = 2, .ramp_samples = 64},
                dp2),
      "--batch-ramp 4,2,64: its batch of 6 sequences is not a multiple of --micro-batch 2 "
      "x --dp 2 = 4\n--batch-ramp 4,2,64: its batch of 10 sequences is not a multiple of "
      "--micro-batch 2 x --dp 2 = 4\n--batch-ramp 4,2,64: its batch of 14 sequences is not "
      "a multiple of --micro-batch 2 x --dp 2 = 4\n");
  EXPECT_NE(
      errors_of({.global_batch = 16, .ramp_start = 16, .ramp_increment = 4, .ramp_samples = 64},
                dp2)
          .find("START must be below --global-batch 16"),
      std::string::npos);
  EXPECT_NE(
      errors_of({.global_batch = 16, .ramp_start = 4, .ramp_increment = 8, .ramp_samples = 64}, dp2)
          .find("16 - START 4 is not a multiple of INCREMENT 8"),
      std::string::npos);
  // An interleaved pipeline needs each batch's micro-batches to be a multiple of --pp.
  const Layout pp2{.pp = 2, .micro_batch = 1, .virtual_stages = 2, .schedule = "interleaved"};
  EXPECT_NE(
      errors_of({.global_batch = 8, .ramp_start = 2, .ramp_increment = 3, .ramp_samples = 64}, pp2)
          .find("needs the 5 micro-batches per step to be a multiple of --pp 2"),
      std::string::npos);
}

// A measurement whose noise scale is exactly `noise` sequences (|G|^2 = 1).
NormPair exact(double noise, int small, int big) {
  return {1.0 + noise / small, small, 1.0 + noise / big, big};
}

TEST(BatchSchedule, AdaptiveFollowsTheNoiseScaleAtMostDoublingAndHalvesOnASpike) {
  const BatchConfig c{.adaptive = true, .min_batch = 8, .max_batch = 64, .quantum = 8};
  EXPECT_EQ(c.sizes(), (std::vector<int>{8, 16, 24, 32, 40, 48, 56, 64}));
  BatchSchedule s(c, 32);
  EXPECT_EQ(s.next(), 8);  // the minimum first
  std::vector<int> seen;
  for (int step = 0; step < 5; ++step) {
    s.observe(exact(45.0, 2, s.next()), 3.0);  // B_noise 45: rounds to 48
    seen.push_back(s.next());
  }
  EXPECT_EQ(seen, (std::vector<int>{16, 32, 48, 48, 48}));  // at most twice the last
  s.observe(exact(45.0, 2, 48), 3.5);                       // 3.5 > 1.1 x 3.0: a spike
  EXPECT_EQ(s.next(), 24);
  for (int step = 0; step < 10; ++step) {  // held for 10 steps
    s.observe(exact(45.0, 2, s.next()), 3.0);
    EXPECT_EQ(s.next(), 24) << step;
  }
  s.observe(exact(45.0, 2, 24), 3.0);
  EXPECT_EQ(s.next(), 48);
  s.observe(exact(5000.0, 2, 48), 3.0);
  s.observe(exact(5000.0, 2, 64), 3.0);
  EXPECT_EQ(s.next(), 64);  // the maximum
  BatchSchedule low(c, 32);
  for (int step = 0; step < 3; ++step) low.observe(exact(1.0, 2, low.next()), 3.0);
  EXPECT_EQ(low.next(), 8);  // the minimum
  // Its whole state goes to state.json and back.
  nlohmann::json state;
  state["batch"] = s.state().to_json();
  BatchSchedule back(c, 32);
  back.restore(BatchState::from_state(state, 20, 64, 32));
  s.observe(exact(30.0, 2, 64), 2.0);
  back.observe(exact(30.0, 2, 64), 2.0);
  EXPECT_EQ(back.next(), s.next());
  EXPECT_EQ(back.state().noise.estimate(), s.state().noise.estimate());
}

TEST(LrSchedule, InTokensAStepTakesTheRateWhereItStartsAndWarmupWhereItEnds) {
  const optim::LrSchedule s{1.0, 0.0, 1000, 11000};
  EXPECT_DOUBLE_EQ(s.at(0, 250), 0.25);
  EXPECT_DOUBLE_EQ(s.at(750, 1250), 1.0);  // warmup ends inside the step
  EXPECT_DOUBLE_EQ(s.at(1000, 1500), 1.0);
  EXPECT_NEAR(s.at(6000, 6500), 0.5, 1e-12);  // halfway through the decay
  EXPECT_DOUBLE_EQ(s.at(20000, 20500), 0.0);
  // Steps are the same rule with p = s, q = s + 1.
  const optim::LrSchedule steps{1.0, 0.1, 4, 14};
  EXPECT_DOUBLE_EQ(steps.at(2), steps.at(2.0, 3.0));
}

TEST(LrSchedule, BatchScaling) {
  EXPECT_DOUBLE_EQ(optim::batch_lr_factor("none", 4, 16), 1.0);
  EXPECT_DOUBLE_EQ(optim::batch_lr_factor("linear", 4, 16), 0.25);
  EXPECT_DOUBLE_EQ(optim::batch_lr_factor("sqrt", 4, 16), 0.5);
}

}  // namespace
}  // namespace parti::parallel::batch

// The step guard (issue #18): which steps are skipped, when the run stops, and its record.
#include "parti/train/guard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "parti/core/check.h"

namespace parti::train {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(StepGuard, SkipsNonFiniteLossOrNormAndStopsAfterMaxSkippedInARow) {
  StepGuard g({.max_skipped = 3, .skip_spikes = 0.0});
  EXPECT_EQ(g.judge(5.0, 1.0), "");
  EXPECT_NE(g.judge(kNan, 1.0).find("non-finite loss"), std::string::npos);
  EXPECT_NE(g.judge(5.0, kInf).find("non-finite gradient norm"), std::string::npos);
  EXPECT_EQ(g.skipped_in_row(), 2);
  EXPECT_FALSE(g.exhausted());
  EXPECT_EQ(g.judge(4.0, 1.0), "");  // an applied step ends the run of skips
  EXPECT_EQ(g.skipped_in_row(), 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(g.exhausted());
    EXPECT_NE(g.judge(-kInf, kNan), "");
  }
  EXPECT_TRUE(g.exhausted());
  EXPECT_EQ(g.skipped_total(), 5);
}

TEST(StepGuard, SkipsSpikesOnlyWhenAskedAndAfterEnoughHistory) {
  StepGuard off({.max_skipped = 5, .skip_spikes = 0.0});
  StepGuard on({.max_skipped = 5, .skip_spikes = 3.0});
  // Before kMinHistory applied steps nothing is a spike.
  for (size_t i = 0; i + 1 < StepGuard::kMinHistory; ++i) {
    EXPECT_EQ(on.judge(10.0 + 0.1 * static_cast<double>(i % 3), 1.0), "");
    off.judge(10.0, 1.0);
  }
  EXPECT_EQ(on.judge(1e6, 1.0), "") << "19 steps of history: too few to judge";
  // Losses 10.0, 10.1, 10.2 ... (and the 1e6 accepted above widen the spread enormously): a
  // fresh guard with a clean history of kMinHistory steps judges a spike.
  StepGuard clean({.max_skipped = 5, .skip_spikes = 3.0});
  for (size_t i = 0; i < StepGuard::kMinHistory; ++i) {
    clean.judge(10.0 + 0.1 * static_cast<double>(i % 3), 1.0);
  }
  // mean 10.095, sd ~0.08: 10.3 is within 3 sd, 10.5 is not.
  EXPECT_EQ(clean.judge(10.3, 1.0), "");
  EXPECT_NE(clean.judge(10.6, 1.0).find("loss spike"), std::string::npos);
  EXPECT_EQ(off.judge(1e6, 1.0), "") << "--skip-spikes 0: off";
}

TEST(StepGuard, RecordRoundTripsAndJudgesAlike) {
  StepGuard a({.max_skipped = 4, .skip_spikes = 2.0});
  for (int i = 0; i < 150; ++i) {
    a.judge(std::sin(i * 0.7) + 5.0, 1.0);  // more than kWindow: the oldest drop out
  }
  a.judge(kNan, 1.0);
  StepGuard b({.max_skipped = 4, .skip_spikes = 2.0});
  b.from_json(nlohmann::json::parse(a.to_json().dump()));  // through text, as in state.json
  EXPECT_EQ(b.to_json(), a.to_json());
  EXPECT_EQ(b.skipped_in_row(), 1);
  for (double loss : {5.5, 7.9, 6.2, 4.1, 9.0}) {
    EXPECT_EQ(a.judge(loss, 1.0), b.judge(loss, 1.0)) << loss;
  }
}

TEST(StepGuard, MalformedRecordsAreCheckpointErrors) {
  StepGuard g({});
  EXPECT_THROW(g.from_json({{"recent_losses", "x"}}), CheckpointError);
  EXPECT_THROW(g.from_json({{"recent_losses", nlohmann::json::array()},
                            {"skipped_in_row", 3},
                            {"skipped_total", 1}}),
               CheckpointError);
}

}  // namespace
}  // namespace parti::train

// Issue #19: a blend of two prepared corpora (`--data a:0.7,b:0.3`) trains the same samples in
// the same order at dp 1, 2 and 4 and across a resume at another layout: each run ends as the
// single-process run does (losses and parameters within 1e-5, support/layout_runs.h), and that
// run differs from training on the first corpus alone (the blend is not ignored).
#include <gtest/gtest.h>

#include "support/layout_runs.h"

namespace parti {
namespace {

using test::compare;      // NOLINT
using test::mpirun;       // NOLINT
using test::train_flags;  // NOLINT
using test::work;         // NOLINT

TEST(BlendRun, SameSamplesAtDp1Dp2Dp4AndAcrossAResume) {
  // The second corpus: Brown with half its documents in validation, so another training split.
  const std::string half = work() + "/brown_half";
  auto r = test::parti("prepare --corpus brown --val-fraction 0.5 --out " + half);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string blend = " --data " + test::shared_brown() + ":0.7," + half + ":0.3";
  const std::string ref = test::reference_of("single_blend", blend);
  EXPECT_NE(test::losses(ref), test::losses(test::reference()));
  r = test::run(mpirun(2) + train_flags("blend_dp2", 4) + " --dp 2" + blend);
  ASSERT_EQ(r.status, 0) << r.output;
  compare("blend_dp2", ref);
  r = test::run(mpirun(4) + train_flags("blend_dp4", 1) + " --dp 4" + blend);
  ASSERT_EQ(r.status, 0) << r.output;
  compare("blend_dp4", ref);
  test::resume_elsewhere(
      "blend_saved", mpirun(2) + train_flags("blend_saved", 2) + " --dp 2 --zero 1" + blend,
      {{"blend_resumed", mpirun(4) + train_flags("blend_resumed", 2) + " --dp 4" + blend}}, ref);
}

}  // namespace
}  // namespace parti

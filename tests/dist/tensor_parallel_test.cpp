// Issue #4, acceptance 1 (whole-model part): `tiny` for 10 steps with tensor parallelism, alone and
// with dp and ZeRO, under mpirun, against the single-process run (bounds in layout_runs.h); then
// a checkpoint written at dp=2 x tp=2 with ZeRO-3 resumed at tp=4 and on one process.
#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>

#include "cli/run.h"
#include "dist/layout_runs.h"

namespace parti {
namespace test {
const char* work_name() { return "parti_tp_test"; }
}  // namespace test
namespace {

namespace fs = std::filesystem;
using test::compare;      // NOLINT
using test::mpirun;       // NOLINT
using test::train_flags;  // NOLINT
using test::work;         // NOLINT

std::string layout_flags(int dp, int tp, int zero) {
  return " --dp " + std::to_string(dp) + " --tp " + std::to_string(tp) + " --zero " +
         std::to_string(zero);
}

// (dp, tp, ZeRO); global batch 8 in two accumulated micro-batches per dp rank.
class TpLayouts : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(TpLayouts, MatchOneProcess) {
  const auto [dp, tp, zero] = GetParam();
  const std::string name =
      "dp" + std::to_string(dp) + "_tp" + std::to_string(tp) + "_zero" + std::to_string(zero);
  auto r = test::run(mpirun(dp * tp) + train_flags(name, 8 / dp / 2) + layout_flags(dp, tp, zero));
  ASSERT_EQ(r.status, 0) << r.output;
  compare(name);
}

INSTANTIATE_TEST_SUITE_P(TensorParallel, TpLayouts,
                         ::testing::Values(std::tuple{1, 2, 0}, std::tuple{1, 4, 0},
                                           std::tuple{2, 2, 0}, std::tuple{2, 2, 1},
                                           std::tuple{2, 2, 3}),
                         [](const auto& param_info) {
                           return "Dp" + std::to_string(std::get<0>(param_info.param)) + "Tp" +
                                  std::to_string(std::get<1>(param_info.param)) + "Zero" +
                                  std::to_string(std::get<2>(param_info.param));
                         });

// Checkpoints stay logical under tensor parallelism: each tp rank writes its parts (the
// replicated tensors once), and any layout reads them back.
TEST(TensorParallel, SaveAtDp2Tp2Zero3ResumeAtTp4AndOnOneProcess) {
  auto r = test::run(mpirun(4) + train_flags("tpsave", 2, 10) + layout_flags(2, 2, 3) +
                     " --stop-after 5");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const std::string target : {"from_tp_tp4", "from_tp_one"}) {
    fs::remove_all(work() + "/" + target);
    fs::copy(work() + "/tpsave", work() + "/" + target, fs::copy_options::recursive);
    fs::copy_file(work() + "/tpsave.jsonl", work() + "/" + target + ".jsonl",
                  fs::copy_options::overwrite_existing);
  }
  r = test::run(mpirun(4) + train_flags("from_tp_tp4", 2) + layout_flags(1, 4, 0) + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 5"), std::string::npos) << r.output;
  compare("from_tp_tp4");
  r = test::parti(train_flags("from_tp_one", 4) + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  compare("from_tp_one");
}

}  // namespace
}  // namespace parti

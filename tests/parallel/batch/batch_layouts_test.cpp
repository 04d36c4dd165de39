// Issue #22, acceptance 2-4 for the ramp: a global batch that grows (--batch-ramp) at dp 2 (ZeRO
// 0 and 3), dp2 x tp2, pp 2 (1F1B and interleaved, whose instruction lists are rebuilt when the
// batch grows), cp 2, a 2 x 2 grid and the Llama family, each against the one-process run with
// the same flags: the same batch every step, losses and final parameters within the layout
// suites' bounds (layout_runs.h). A run stopped mid-ramp and resumed is the uninterrupted one
// bit for bit; bad ramps are refused naming the flag.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/run.h"
#include "parti/core/check.h"
#include "support/layout_runs.h"
#include "support/layouts.h"

namespace parti {
namespace {

using test::work;  // NOLINT

// Global batch 8, ramped from 4 by 4 over the first 16 samples: steps 1-4 take 4 sequences,
// steps 5-10 take 8.
const char* const kRamp = " --batch-ramp 4,4,16";

std::vector<int> batches(const std::string& name) {
  std::vector<int> out;
  for (const nlohmann::json& r : test::records(name)) out.push_back(r.at("global_batch"));
  return out;
}

// The one-process ramped run of a row's family and model flags (micro-batch 4: one micro-batch
// of the first batches, two of the later).
std::string ramp_reference(const test::LayoutCase& l) {
  return test::shared_reference("ramp_" + l.family + (l.model.empty() ? "" : "_own"),
                                test::run_flags(4, 10, l.preset()) + kRamp + " " + l.model);
}

class Ramp : public ::testing::TestWithParam<test::LayoutCase> {};

TEST_P(Ramp, TakesTheSameBatchesAndMatchesOneProcess) {
  const test::LayoutCase& l = GetParam();
  const std::string ref = ramp_reference(l);
  const std::string name = "ramp_" + l.name;
  auto r = test::run(test::mpirun(l.ranks()) +
                     test::train_flags(name, l.micro_batch_or_two(), 10, l.preset()) + kRamp +
                     l.flags() + (l.model.empty() ? "" : " " + l.model));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(batches(name), (std::vector<int>{4, 4, 4, 4, 8, 8, 8, 8, 8, 8}));
  EXPECT_EQ(batches(name), batches(ref));
  test::compare(name, ref);
}

INSTANTIATE_TEST_SUITE_P(Batch, Ramp, ::testing::ValuesIn(test::layouts([](const auto& l) {
                           for (const char* row :
                                {"Dp2Zero0", "Dp2Zero3", "Dp2Tp2Zero0", "Pp2OneFOneB",
                                 "Pp2Interleaved", "Dp1Cp2Tp1Pp1Zero0", "Tp4Grid2d",
                                 "LlamaDp2Zero3"}) {
                             if (l.name == row) return true;
                           }
                           return false;
                         })),
                         [](const auto& param_info) { return param_info.param.name; });

// One process runs `flags` whole (run `whole`) and stopped after `stop` steps then resumed (run
// `cut`): the same batches, losses and final parameters, bit for bit.
void expect_resume_bit_for_bit(const std::string& flags, const std::string& whole,
                               const std::string& cut, int stop) {
  const auto at = [&](const std::string& name) {
    return std::string(PARTI_BINARY) + flags + " --ckpt-dir " + work() + "/" + name + " --log " +
           work() + "/" + name + ".jsonl";
  };
  auto r = test::run(at(whole));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run(at(cut) + " --stop-after " + std::to_string(stop));
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run(at(cut) + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step " + std::to_string(stop)), std::string::npos)
      << r.output;
  EXPECT_EQ(batches(cut), batches(whole));
  EXPECT_EQ(test::losses(cut), test::losses(whole));  // exactly
  EXPECT_EQ(test::slurp(work() + "/" + cut + "/step_00000010/model.safetensors"),
            test::slurp(work() + "/" + whole + "/step_00000010/model.safetensors"));
}

// Acceptance 3: stopped after step 3 (inside the ramp: the batch grows at step 5), resumed: the
// same losses and parameters, bit for bit, as the run that was not stopped.
TEST(Ramp, StoppedMidRampAndResumedIsBitForBit) {
  expect_resume_bit_for_bit(test::run_flags(2) + " --batch-ramp 2,2,24", "whole", "cut", 3);
  EXPECT_EQ(batches("cut"), (std::vector<int>{2, 2, 2, 2, 4, 4, 6, 6, 8, 8}));
}

// ... and resumed at another layout, it still ends as one process does.
TEST(Ramp, StoppedAtDp2ResumesAtPp2) {
  const test::LayoutCase dp2{.dp = 2}, pp2{.pp = 2};
  const auto command = [](const std::string& name, const test::LayoutCase& l, int micro_batch) {
    return test::mpirun(2) + test::train_flags(name, micro_batch) + kRamp + l.flags();
  };
  test::resume_elsewhere("dp2_ramp", command("dp2_ramp", dp2, 2),
                         {{"dp2_ramp_pp2", command("dp2_ramp_pp2", pp2, 1)}}, ramp_reference(dp2));
}

// --adaptive-batch from 4 to 32 sequences in multiples of 4, micro-batches of 2 at every layout
// (the noise scale's small batch; the same flags as the one-process run).
const char* const kAdaptive =
    " --adaptive-batch --min-global-batch 4 --max-global-batch 32 --batch-quantum 4";

std::string adaptive_flags(const std::string& preset) {
  std::string flags = test::run_flags(2, 10, preset) + kAdaptive;
  const std::string fixed = " --global-batch 8";
  flags.erase(flags.find(fixed), fixed.size());
  return flags;
}

class Adaptive : public ::testing::TestWithParam<test::LayoutCase> {};

// Acceptance 2 for the adaptive batch: the same batches (chosen from the same noise-scale
// estimates), losses and parameters as one process.
TEST_P(Adaptive, FollowsTheSameNoiseScaleAsOneProcess) {
  const test::LayoutCase& l = GetParam();
  const std::string ref =
      test::shared_reference("adaptive_" + l.family, adaptive_flags(l.preset()));
  const std::string name = "adaptive_" + l.name;
  auto r = test::run(test::mpirun(l.ranks()) + adaptive_flags(l.preset()) + " --ckpt-dir " +
                     work() + "/" + name + " --log " + work() + "/" + name + ".jsonl" + l.flags());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<int> want = batches(ref);
  EXPECT_GT(std::set<int>(want.begin(), want.end()).size(), 1u) << "the batch never changed";
  EXPECT_EQ(batches(name), want);
  const std::vector<nlohmann::json> a = test::records(name), b = test::records(ref);
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double x = a[i].at("gns"), y = b[i].at("gns");
    EXPECT_LE(std::abs(x - y), 1e-5 * std::abs(y)) << "step " << i + 1;
  }
  test::compare(name, ref);
}

INSTANTIATE_TEST_SUITE_P(Batch, Adaptive, ::testing::ValuesIn(test::layouts([](const auto& l) {
                           for (const char* row :
                                {"Dp2Zero0", "Dp2Zero3", "Dp2Tp2Zero0", "Dp1Cp2Tp1Pp1Zero0",
                                 "Tp4Grid2d", "LlamaPp2OneFOneB", "Dp2Cp2Tp1Pp1Zero3"}) {
                             if (l.name == row) return true;
                           }
                           return false;
                         })),
                         [](const auto& param_info) { return param_info.param.name; });

// Acceptance 3 for the adaptive batch: the noise scale's averages and the batch it chose are in
// the checkpoint, so a resume continues bit for bit.
TEST(Adaptive, StoppedAndResumedIsBitForBit) {
  expect_resume_bit_for_bit(adaptive_flags("tiny"), "awhole", "acut", 4);
}

// Acceptance 4: what a ramp gets wrong is refused before any work, naming the flag.
TEST(Ramp, BadRampsAreRefusedNamingTheFlag) {
  const std::string flags = test::run_flags(4);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --batch-ramp 2,2,16",
       "--batch-ramp 2,2,16: its batch of 2 sequences is not a multiple "
       "of --micro-batch 4 x --dp 1 = 4"},
      {" --batch-ramp 4,3,16", "--global-batch 8 - START 4 is not a multiple of INCREMENT 3"},
      {" --batch-ramp 8,4,16", "START must be below --global-batch 8"},
      {" --batch-ramp 4,x,16", "--batch-ramp 4,x,16: 'x' is not an integer"},
      {" --batch-ramp 4,4", "expected three positive integers START,INCREMENT,SAMPLES"},
      {" --train-tokens 4096", "--warmup counts steps; with --train-tokens give --warmup-tokens"},
      {" --lr-batch-scaling cubic", "--lr-batch-scaling cubic: expected none, linear or sqrt"},
      {kAdaptive, "--adaptive-batch with a fixed --global-batch"},
  };
  for (const auto& [extra, message] : cases) {
    const auto r = test::parti(flags + extra);
    EXPECT_EQ(r.status, kExitInput) << extra << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << extra << "\n" << r.output;
  }
}

TEST(Adaptive, BadBoundsAreRefusedNamingTheFlags) {
  const std::string flags = adaptive_flags("tiny");
  const std::string base = flags.substr(0, flags.find(" --adaptive-batch"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --adaptive-batch --min-global-batch 16 --max-global-batch 8",
       "needs 0 < --min-global-batch <= --max-global-batch"},
      {" --adaptive-batch --min-global-batch 4 --max-global-batch 16 --batch-quantum 3",
       "--batch-quantum 3 is not a multiple of --micro-batch 2 x --dp 1 = 2"},
      {" --adaptive-batch --min-global-batch 2 --max-global-batch 16",
       "--min-global-batch must hold two micro-batches (2 x --micro-batch 2)"},
      {" --adaptive-batch --min-global-batch 4 --max-global-batch 16 --batch-ramp 2,2,8",
       "--adaptive-batch and --batch-ramp: choose one"},
  };
  for (const auto& [extra, message] : cases) {
    const auto r = test::parti(base + extra);
    EXPECT_EQ(r.status, kExitInput) << extra << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << extra << "\n" << r.output;
  }
}

// The planner takes the range a ramped or adaptive batch spans: both ends planned, and whether
// the best layout changes across it (GPT-2 on 16 A100s: from a 2 x 2 grid with dp 4 at 32
// sequences to dp 16 at 512; fixed at tp 2 it stays).
TEST(PlanRange, PlansBothEndsAndSaysWhetherTheBestLayoutChanges) {
  const std::string plan = "plan --model gpt2 --gpus 16 --hardware a100-80gb --top 2 --json";
  auto r = test::parti(plan + " --global-batch 32:512");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("global batch 32 sequences"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("global batch 512 sequences"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("across --global-batch 32:512 the best layout changes"),
            std::string::npos)
      << r.output;
  const nlohmann::json ends = nlohmann::json::parse(r.last_line());
  ASSERT_EQ(ends.at("low").size(), 2u);
  ASSERT_EQ(ends.at("high").size(), 2u);
  EXPECT_NE(ends["low"][0].dump(), ends["high"][0].dump());
  r = test::parti(plan + " --global-batch 32:512 --tp 2 --pp 1 --cp 1 --zero 1 --micro-batch 4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("the best layout stays: dp 8 cp 1 tp 2"), std::string::npos) << r.output;
  for (const char* bad : {"512:32", "32:", "x", "0"}) {
    r = test::parti(plan + " --global-batch " + bad);
    EXPECT_EQ(r.status, kExitInput) << bad;
    EXPECT_NE(r.output.find(std::string("--global-batch ") + bad + ": "), std::string::npos)
        << r.output;
  }
}

}  // namespace
}  // namespace parti

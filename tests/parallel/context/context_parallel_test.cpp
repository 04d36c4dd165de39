// Issue #8, acceptance 2 and 3 on the whole model: `tiny` for 10 steps with context parallelism,
// alone and with dp (and ZeRO), tp (and sp) and pp, under mpirun, against the single-process run
// (bounds in layout_runs.h); a checkpoint written at cp=2 resumed at cp=4 and on one process; the
// per-rank activation memory at cp=4; the configuration errors.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/run.h"
#include "support/layout_runs.h"
#include "support/layouts.h"

namespace parti {
namespace {

using test::compare;      // NOLINT
using test::mpirun;       // NOLINT
using test::train_flags;  // NOLINT
using test::work;         // NOLINT

// The rows of the layout matrix with context parallelism. Global batch 8 in two accumulated
// micro-batches per dp rank (seq-len 32: at cp=4 each rank holds chunks of 4 tokens).
class CpLayouts : public ::testing::TestWithParam<test::LayoutCase> {};

TEST_P(CpLayouts, MatchOneProcess) {
  const test::LayoutCase& l = GetParam();
  ASSERT_NO_FATAL_FAILURE(test::check_layout(l));
  // Every step did ring attention: all (query, key) chunk pairs at or below the diagonal, none
  // above it computed.
  const nlohmann::json rec = test::first_record(work() + "/" + l.name + ".jsonl");
  ASSERT_TRUE(rec.contains("cp_ring")) << rec.dump();
  EXPECT_GT(rec.at("cp_ring").at("pairs").get<int>(), 0);
  EXPECT_GT(rec.at("cp_ring").at("skipped").get<int>(), 0);
}

INSTANTIATE_TEST_SUITE_P(ContextParallel, CpLayouts,
                         ::testing::ValuesIn(test::layouts([](const test::LayoutCase& l) {
                           return l.cp > 1;
                         })),
                         [](const auto& param_info) { return param_info.param.name; });

// A checkpoint is the same logical model under any cp: saved at cp=2 halfway, resumed at cp=4 and
// on one process, both end as the single-process run does.
TEST(ContextParallel, SaveAtCp2ResumeAtCp4AndOnOneProcess) {
  test::resume_elsewhere("cpsave", mpirun(2) + train_flags("cpsave", 4) + " --cp 2",
                         {{"from_cp_cp4", mpirun(4) + train_flags("from_cp_cp4", 4) + " --cp 4"},
                          {"from_cp_one", PARTI_BINARY + train_flags("from_cp_one", 4)}});
}

// Acceptance 3: per-rank activation memory (the activation arena's peak over a step, the JSONL's
// mem_activations) for the same micro-batch of `tiny` with 8 layers at cp 1 and cp 4. Every saved
// tensor is split by tokens, except attention's: at cp 1 the probabilities (B, NH, T, T), at cp 4
// only the log-sum-exp of each local row (B, NH, T / 4). So cp 4 holds a quarter of cp 1 less its
// probabilities, plus the log-sum-exps, to the byte; and within 10% of a quarter. No T x T buffer
// and no buffer of the whole sequence's keys and values: the largest ring attention allocates is
// the key/value block of a rank's own tokens (2 x B x T / 4 x C), twice, outside the arena.
TEST(ContextParallel, ActivationMemoryIsAQuarterAtCp4) {
  const int layers = 8, B = 4, T = 64, NH = 4;
  auto run = [&](int cp) {
    const std::string name = "mem_cp" + std::to_string(cp);
    const std::string flags = " train --data " + work() +
                              "/brown --model tiny --layers 8 --seq-len 64 --global-batch 4 "
                              "--micro-batch 4 --steps 1 --eval-batches 0 --threads 1 --log " +
                              work() + "/" + name + ".jsonl --cp " + std::to_string(cp);
    auto r = test::run(mpirun(cp) + flags);
    EXPECT_EQ(r.status, 0) << r.output;
    return test::first_record(work() + "/" + name + ".jsonl");
  };
  const nlohmann::json one = run(1), cp4 = run(4);
  const double a1 = one.at("mem_activations"), a4 = cp4.at("mem_activations");
  const double f = sizeof(float);
  const double probabilities = f * layers * B * NH * T * T;
  const double lse = f * layers * B * NH * (T / 4);
  const double predicted = (a1 - probabilities) / 4 + lse;
  std::cout << "activation bytes per rank: cp 1 " << a1 << "; cp 4 " << a4 << " (" << a4 / a1
            << " of cp 1; predicted " << predicted << ")\n";
  EXPECT_NEAR(a4, a1 / 4, 0.1 * a1 / 4);
  EXPECT_NEAR(a4, predicted, 1e-3 * predicted);
  // The workspace (transient buffers of sublayers) shrinks with the tokens too.
  EXPECT_LE(cp4.at("mem_workspace").get<double>(), one.at("mem_workspace").get<double>() / 4 * 1.1);
}

TEST(ContextParallel, ClearErrors) {
  auto r = test::parti(train_flags("bad", 1) + " --seq-len 36 --cp 4");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--seq-len 36 is not a multiple of 2 x --cp 4"), std::string::npos)
      << r.output;
  r = test::parti(train_flags("bad", 1) + " --cp 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--dp 1 x --tp 1 x --cp 2 x --pp 1 = 2 ranks, but the job has 1"),
            std::string::npos)
      << r.output;
  r = test::parti(train_flags("bad", 1) + " --seq-len 40 --cp 2 --tp 8 --sp");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--tp 8 does not divide the 20 tokens"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace parti

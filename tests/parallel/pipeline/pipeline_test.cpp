// Issue #5, acceptance 3: `tiny` for 10 steps under pipeline parallelism, against the
// single-process run (bounds in layout_runs.h): pp 2 and 4 with each schedule, with dp, tp (and
// --sp), dp x tp x pp on 8 ranks with ZeRO-1, each recompute mode, an uneven split; a checkpoint
// written by a pipeline resumed at another pipeline and on one process. Acceptance 4 (the
// activations each in-flight micro-batch keeps, per recompute mode), the trace, the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "cli/run.h"
#include "support/layout_runs.h"
#include "support/layouts.h"

namespace parti {
namespace {

using test::compare;       // NOLINT
using test::first_record;  // NOLINT
using test::mpirun;        // NOLINT
using test::train_flags;   // NOLINT
using test::work;          // NOLINT

// The rows of the layout matrix with a pipeline (and no cp); a row with its own model flags is
// compared with its own single-process run.
class PpLayouts : public ::testing::TestWithParam<test::LayoutCase> {};

TEST_P(PpLayouts, MatchOneProcess) { test::check_layout(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Pipeline, PpLayouts,
                         ::testing::ValuesIn(test::layouts([](const test::LayoutCase& l) {
                           return l.pp > 1 && l.cp == 1;
                         })),
                         [](const auto& param_info) { return param_info.param.name; });

// Checkpoints stay logical under pipelines: each stage writes its blocks, the first stage the
// tied embedding (the last stage's copy is left out), and any layout reads them.
TEST(Pipeline, SaveAtDp2Pp2ResumeAtPp4AndOnOneProcess) {
  test::resume_elsewhere(
      "ppsave", mpirun(4) + train_flags("ppsave", 1, 10) + " --dp 2 --pp 2 --zero 1",
      {{"from_pp_pp4", mpirun(4) + train_flags("from_pp_pp4", 1) + " --pp 4 --schedule zb"},
       {"from_pp_one", PARTI_BINARY + train_flags("from_pp_one", 4)}});
}

// ZeRO-3 under a pipeline writes only its shards: each stage's blocks, the first stage's wte
// (the last stage's copy, cut alike, left out); another ZeRO stage and schedule read them.
TEST(Pipeline, SaveAtDp2Pp2Zero3ResumeAtZero2ZbAndOnOneProcess) {
  test::resume_elsewhere("ppsave3",
                         mpirun(4) + train_flags("ppsave3", 1, 10) + " --dp 2 --pp 2 --zero 3",
                         {{"from_pp3_zero2_zb", mpirun(4) + train_flags("from_pp3_zero2_zb", 2) +
                                                    " --dp 2 --pp 2 --zero 2 --schedule zb"},
                          {"from_pp3_one", PARTI_BINARY + train_flags("from_pp3_one", 4)}});
}

// Issue #17: a Llama checkpoint (Hugging Face names, untied head) written by a pipeline under
// ZeRO-3, read by tensor parallelism and by one process.
TEST(Pipeline, SaveLlamaAtDp2Pp2Zero3ResumeAtTp2AndOnOneProcess) {
  const std::string ref = test::reference_for({.family = "llama"});
  test::resume_elsewhere(
      "llamasave",
      mpirun(4) + train_flags("llamasave", 1, 10, "llama-tiny") + " --dp 2 --pp 2 --zero 3",
      {{"from_llama_tp2",
        mpirun(2) + train_flags("from_llama_tp2", 4, 10, "llama-tiny") + " --tp 2 --sp"},
       {"from_llama_one", PARTI_BINARY + train_flags("from_llama_one", 8, 10, "llama-tiny")}},
      ref);
}

// Acceptance 4: the activations alive at once on stage 0 (the JSONL's mem_activations, the
// executor's peak over the arenas of the micro-batches in flight) under GPipe, which holds every
// micro-batch of the step: the growth from 4 to 8 micro-batches, per micro-batch, is what each
// one keeps. Stage 0 of `tiny` at pp 2 runs the lookup and 2 blocks. With --recompute full it
// keeps each block's input and the chunk's output (the embedding output is block 0's input):
// 3 N x C floats, N = B T tokens. Selective keeps everything but the attention probabilities
// (B NH T T floats per block). The losses are the same in every mode, bit for bit.
TEST(Pipeline, RecomputeKeepsOneLayerInputPerMicroBatchInFlight) {
  const int B = 4, T = 32, C = 128, NH = 4, stage_layers = 2;
  auto run = [&](const std::string& mode, int micro_batches) {
    const std::string name = "mem_" + mode + std::to_string(micro_batches);
    auto r =
        test::run(mpirun(2) + " train --data " + work() +
                  "/brown --model tiny --seq-len 32 --micro-batch 4 --global-batch " +
                  std::to_string(B * micro_batches) +
                  " --steps 1 --eval-batches 0 --threads 1 --pp 2 --pp-layers 2,2 --schedule gpipe "
                  "--recompute " +
                  mode + " --log " + work() + "/" + name + ".jsonl");
    EXPECT_EQ(r.status, 0) << r.output;
    const nlohmann::json j = first_record(work() + "/" + name + ".jsonl");
    EXPECT_EQ(j.at("pp_peak_in_flight").get<int>(), micro_batches) << j.dump();
    return j;
  };
  std::map<std::string, double> per_micro_batch;
  for (const std::string mode : {"none", "full", "selective"}) {
    const nlohmann::json four = run(mode, 4), eight = run(mode, 8);
    per_micro_batch[mode] =
        (eight.at("mem_activations").get<double>() - four.at("mem_activations").get<double>()) / 4;
    EXPECT_EQ(eight.at("loss").get<double>(),
              first_record(work() + "/mem_none8.jsonl").at("loss").get<double>())
        << mode;
  }
  const double f = sizeof(float), NC = static_cast<double>(B) * T * C;
  const double att = static_cast<double>(B) * NH * T * T;
  std::cout << "bytes kept per micro-batch in flight on stage 0: none " << per_micro_batch["none"]
            << ", selective " << per_micro_batch["selective"] << ", full "
            << per_micro_batch["full"] << " (predicted " << f * (stage_layers + 1) * NC << ")\n";
  EXPECT_NEAR(per_micro_batch["full"], f * (stage_layers + 1) * NC, 0.05 * f * NC);
  EXPECT_NEAR(per_micro_batch["none"] - per_micro_batch["selective"], f * stage_layers * att,
              0.05 * f * att);
  EXPECT_GT(per_micro_batch["none"], 5 * per_micro_batch["full"]);
}

// --trace: one track per rank with every compute instruction of every step, the p2p waits and
// the collectives; the JSONL's idle shares are fractions.
TEST(Pipeline, TraceHasOneTrackPerRankWithEveryInstruction) {
  const std::string trace = work() + "/trace.json";
  auto r = test::run(mpirun(4) + train_flags("traced", 2, 2) +
                     " --dp 2 --pp 2 --schedule 1f1b --trace " + trace);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("trace: " + trace), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stage 1 |"), std::string::npos) << "the schedule is printed";
  const nlohmann::json j = nlohmann::json::parse(test::slurp(trace));
  std::map<int, std::set<std::string>> names;  // per track
  for (const auto& e : j.at("traceEvents")) {
    if (e.at("ph") == "X") names[e.at("tid").get<int>()].insert(e.at("name").get<std::string>());
  }
  ASSERT_EQ(names.size(), 4u);
  for (int rank = 0; rank < 4; ++rank) {
    // Micro-batches 0-1 per dp rank (8 = 2 steps... per step: 8 / (2 x 2) = 2), both chunks.
    for (const std::string op : {"F", "B"}) {
      for (int m = 0; m < 2; ++m) {
        EXPECT_TRUE(names[rank].count(op + std::to_string(m) + ".c" + std::to_string(rank / 2)))
            << "rank " << rank << " " << op << m;
      }
    }
    EXPECT_TRUE(names[rank].count("REDUCE (dp all-reduce, tied wte)")) << rank;
    EXPECT_TRUE(names[rank].count(rank < 2 ? "wait RG0.c0<1" : "wait RA0.c1<0")) << rank;
  }
  const nlohmann::json rec = first_record(work() + "/traced.jsonl");
  ASSERT_EQ(rec.at("pp_idle").size(), 2u);
  for (double idle : rec.at("pp_idle")) {
    EXPECT_GE(idle, 0.0);
    EXPECT_LT(idle, 1.0);
  }
}

TEST(Pipeline, ClearErrors) {
  auto r = test::parti(train_flags("bad", 1) + " --pp 2 --schedule interleaved");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--virtual-stages"), std::string::npos) << r.output;
  r = test::parti(train_flags("bad", 1) + " --pp 2 --pp-layers 3,3");
  EXPECT_NE(r.output.find("--pp-layers"), std::string::npos) << r.output;
  r = test::parti(train_flags("bad", 1) + " --pp 8");
  EXPECT_NE(r.output.find("--layers 4 cannot fill 8"), std::string::npos) << r.output;
  r = test::parti(train_flags("bad", 1) + " --schedule 2f2b");
  EXPECT_NE(r.output.find("--schedule 2f2b"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace parti

// Issue #7 through `parti train` under mpirun: bf16 at dp=4 against the uncompressed run
// (acceptance 1: losses within 1e-2 relative, gradient bytes halved), PowerSGD with dp alone,
// with tp and with pp against the single-process run, its resume bit for bit (the residuals
// and Q factors are in the checkpoint), the combinations it rejects, and a short convergence
// run (acceptance 3's ctest form; the 300-step `small` comparison is bench/grad_compress).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/run.h"
#include "support/layout_runs.h"

namespace parti {
namespace {

using test::losses;       // NOLINT
using test::mpirun;       // NOLINT
using test::records;      // NOLINT
using test::train_flags;  // NOLINT
using test::work;         // NOLINT

test::RunResult train(int np, const std::string& name, int micro_batch, const std::string& extra) {
  return test::run(mpirun(np) + train_flags(name, micro_batch) + " " + extra);
}

// The bytes of the loss all-reduce every dp step adds to comm_bytes (one double, ring).
double loss_bytes(int dp) { return 2.0 * (dp - 1) / dp * sizeof(double); }

TEST(Compression, Bf16StaysWithin1e2OfFp32AtDp4AndHalvesTheGradientBytes) {
  auto r = train(4, "dp4_fp32", 2, "--dp 4");
  ASSERT_EQ(r.status, 0) << r.output;
  // Buckets of 1 MB: several in flight, each in two phases (all-to-all, all-gather).
  r = train(4, "dp4_bf16", 2, "--dp 4 --grad-compress bf16 --bucket-mb 1");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto fp32 = records("dp4_fp32"), bf16 = records("dp4_bf16");
  ASSERT_EQ(fp32.size(), 10u);
  ASSERT_EQ(bf16.size(), 10u);
  double worst = 0.0;
  for (size_t i = 0; i < fp32.size(); ++i) {
    const double a = fp32[i].at("loss"), b = bf16[i].at("loss");
    worst = std::max(worst, std::abs(a - b) / std::abs(a));
    EXPECT_LE(std::abs(a - b), 1e-2 * std::abs(a)) << "step " << i + 1;
    // The gradient reduction's bytes (comm_bytes less the loss all-reduce): half, up to the
    // padding of each bucket to 4 equal blocks (under 4 elements a bucket).
    const double g32 = fp32[i].at("comm_bytes").get<double>() - loss_bytes(4);
    const double g16 = bf16[i].at("comm_bytes").get<double>() - loss_bytes(4);
    EXPECT_NEAR(g16 / g32, 0.5, 1e-6) << "step " << i + 1;
  }
  std::cout << "bf16 vs fp32 at dp=4: worst relative loss difference " << worst << ", bytes "
            << bf16[0].at("comm_bytes") << " vs " << fp32[0].at("comm_bytes") << "\n";
}

// ZeRO-2/3 with bf16: each unit's reduce-scatter becomes an all-to-all of bf16 blocks (the
// embeddings' pieces a gather to their owner), summed in fp32 by the owner. With one
// micro-batch a step reduce-scatters the gradients once (R bytes in fp32, R / 2 in bf16);
// ZeRO-2 also all-gathers the parameters once (R), so bf16 sends 3/4 of fp32's bytes; ZeRO-3
// gathers them as forward and backward use them and sends R / 2 less than fp32.
TEST(Compression, Bf16CompressesZero2And3ReduceScatters) {
  double reduce_scatter = 0.0;  // R, from ZeRO-2's fp32 run
  for (int zero : {2, 3}) {
    const std::string z = std::to_string(zero);
    auto r = train(4, "z" + z + "_fp32", 2, "--dp 4 --zero " + z);
    ASSERT_EQ(r.status, 0) << r.output;
    r = train(4, "z" + z + "_bf16", 2, "--dp 4 --zero " + z + " --grad-compress bf16");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto fp32 = records("z" + z + "_fp32"), bf16 = records("z" + z + "_bf16");
    ASSERT_EQ(bf16.size(), fp32.size());
    for (size_t i = 0; i < fp32.size(); ++i) {
      const double a = fp32[i].at("loss"), b = bf16[i].at("loss");
      EXPECT_LE(std::abs(a - b), 1e-2 * std::abs(a)) << "ZeRO-" << z << " step " << i + 1;
    }
    const double full = fp32[0].at("comm_bytes").get<double>() - loss_bytes(4);
    const double half = bf16[0].at("comm_bytes").get<double>() - loss_bytes(4);
    if (zero == 2) {
      reduce_scatter = full / 2;
    }
    std::cout << "ZeRO-" << z << ": bytes per step fp32 " << full << ", bf16 " << half
              << " (expected " << full - reduce_scatter / 2 << "), last loss "
              << bf16.back().at("loss") << " vs " << fp32.back().at("loss") << "\n";
    EXPECT_NEAR(half / (full - reduce_scatter / 2), 1.0, 1e-3) << "ZeRO-" << z;
  }
}

// PowerSGD against the single-process run: the first loss is the same (no update yet), the
// others stay close (rank 4 of `tiny`'s 128-wide matrices, 10 steps: within 1%, seen 0.2%);
// fewer bytes than fp32 would send; the residuals and Q counted in mem_compress.
void check_powersgd(const std::string& name, int np, int micro_batch, const std::string& extra) {
  auto r = train(np, name, micro_batch, "--grad-compress powersgd " + extra);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<double> ref = losses(test::reference()), got = losses(name);
  ASSERT_EQ(got.size(), ref.size());
  EXPECT_LE(std::abs(got[0] - ref[0]), 1e-5 * ref[0]);
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_LE(std::abs(got[i] - ref[i]), 1e-2 * ref[i]) << name << " step " << i + 1;
  }
  const nlohmann::json first = records(name).front();
  EXPECT_GT(first.at("mem_compress").get<double>(), 0.0);
  int early = 0;
  if (extra.find("--bucket-mb") != std::string::npos) {
    // Compressed buckets start while backward runs (several a step). Whether one also completes
    // before backward ends depends on the peer's scheduling (CI once saw none in 10 steps);
    // dist.compress shows their phases advance by tests alone, and the count is printed.
    for (const auto& rec : records(name)) {
      EXPECT_GE(rec.at("buckets").get<int>(), 2) << name;
      early += rec.at("buckets_done_in_backward").get<int>();
    }
  }
  std::cout << name << ": last loss " << got.back() << " vs " << ref.back() << ", comm_bytes "
            << first.at("comm_bytes") << ", mem_compress " << first.at("mem_compress")
            << ", buckets completed inside backward " << early << "\n";
}

TEST(Compression, PowerSgdWithDpTpAndPpStaysNearOneProcess) {
  check_powersgd("psgd_dp2", 2, 2, "--dp 2 --bucket-mb 0.5");
  check_powersgd("psgd_dp2_tp2", 4, 4, "--dp 2 --tp 2");
  check_powersgd("psgd_dp2_pp2", 4, 1, "--dp 2 --pp 2");
  // With tp each rank compresses its own part of each matrix: fewer bytes than at dp alone.
  const double dp_only = records("psgd_dp2").front().at("comm_bytes");
  const double with_tp = records("psgd_dp2_tp2").front().at("comm_bytes");
  EXPECT_LT(with_tp, dp_only);
}

TEST(Compression, PowerSgdResumesBitForBit) {
  const std::string flags = "--dp 2 --grad-compress powersgd --powersgd-rank 2";
  auto r = train(2, "psgd_whole", 2, flags);
  ASSERT_EQ(r.status, 0) << r.output;
  r = train(2, "psgd_resumed", 2, flags + " --stop-after 5");
  ASSERT_EQ(r.status, 0) << r.output;
  r = train(2, "psgd_resumed", 2, flags + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("residuals restart"), std::string::npos) << r.output;
  const std::vector<double> whole = losses("psgd_whole"), resumed = losses("psgd_resumed");
  ASSERT_EQ(resumed.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(resumed[i], whole[i]) << "step " << i + 1;
  }
  const io::SafetensorsFile a = test::final_params("psgd_whole");
  const io::SafetensorsFile b = test::final_params("psgd_resumed");
  for (const auto& [tensor, ta] : a.tensors) {
    EXPECT_EQ(ta.data, b.tensors.at(tensor).data) << tensor;
  }
  // At another layout the state does not apply: the run says so and goes on.
  test::copy_run("psgd_resumed", "psgd_other");
  r = train(
      4, "psgd_other", 1,
      "--dp 4 --grad-compress powersgd --resume --steps 12 --allow-changes steps,powersgd-rank");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("residuals restart at zero"), std::string::npos) << r.output;
}

TEST(Compression, RejectedCombinationsSayWhy) {
  auto r = train(2, "bad_zero2", 2, "--dp 2 --zero 2 --grad-compress powersgd");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--grad-compress powersgd with --zero 2: PowerSGD's error feedback"),
            std::string::npos)
      << r.output;
  r = test::parti(train_flags("bad_dp1", 8) + " --grad-compress powersgd");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("with --dp 1 there is none"), std::string::npos) << r.output;
  r = train(2, "bad_kind", 2, "--dp 2 --grad-compress fp8");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("expected none, bf16 or powersgd"), std::string::npos) << r.output;
  r = train(2, "bad_rank", 2, "--dp 2 --grad-compress powersgd --powersgd-rank 0");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--powersgd-rank must be at least 1"), std::string::npos) << r.output;
}

// Acceptance 3, short: `tiny` on Brown for 80 steps at dp=2, PowerSGD rank 4 from step 10,
// against fp32. Bound 5% on the final validation loss (the benchmark's 300 steps of `small`
// are held to the 3%); seen: 1.2%.
TEST(Compression, PowerSgdConvergesLikeFp32OnAShortRun) {
  const std::string common =
      " train --data " + work() +
      "/brown --model tiny --seq-len 64 --global-batch 8 --micro-batch 4 --steps 80 --lr 2e-3 "
      "--warmup 10 --eval-batches 8 --threads 1 --dp 2";
  auto r = test::run(mpirun(2) + common + " --log " + work() + "/conv_fp32.jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run(mpirun(2) + common + " --grad-compress powersgd --powersgd-start-step 10 --log " +
                work() + "/conv_psgd.jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  auto val = [](const std::string& name) {
    double v = -1.0;
    for (const auto& rec : records(name)) {
      if (rec.contains("val_loss")) v = rec.at("val_loss");
    }
    return v;
  };
  const double fp32 = val("conv_fp32"), psgd = val("conv_psgd");
  ASSERT_GT(fp32, 0.0);
  ASSERT_GT(psgd, 0.0);
  std::cout << "80 steps of tiny at dp=2: validation loss fp32 " << fp32 << ", PowerSGD rank 4 "
            << psgd << " (" << (psgd / fp32 - 1.0) * 100 << "%)\n";
  EXPECT_LE(std::abs(psgd - fp32), 0.05 * fp32);
}

}  // namespace
}  // namespace parti

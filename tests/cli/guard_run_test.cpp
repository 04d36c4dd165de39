// Guarding real runs (issue #18). The step guard: injected NaN gradients are skipped at every
// layout exactly as on one process; a run that keeps producing them, or diverges under --lr 1e3,
// stops with exit code 3 and one message, and every checkpoint it leaves is finite, with `latest`
// where it was before the trouble. Ranks started with different flags fail naming the flag.
#include <gtest/gtest.h>

#include <cmath>

#include "support/layout_runs.h"

namespace parti::test {

namespace {

std::vector<nlohmann::json> records(const std::string& name) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(slurp(work() + "/" + name + ".jsonl"));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

void expect_finite_checkpoint(const std::string& step_dir) {
  for (const char* file : {"model.safetensors", "optim.safetensors"}) {
    const io::SafetensorsFile f = io::read_safetensors(step_dir + "/" + file);
    for (const auto& [name, tensor] : f.tensors) {
      for (float v : tensor.data) {
        ASSERT_TRUE(std::isfinite(v)) << step_dir << "/" << file << ": " << name;
      }
    }
  }
}

std::string latest(const std::string& ckpt_dir) {
  std::string name = slurp(ckpt_dir + "/latest");
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

TEST(Guard, NanGradientsAreSkippedAtEveryLayoutAsOnOneProcess) {
  const std::string fault = " --fault-nan-step 4 --fault-nan-steps 2";
  auto r = parti(train_flags("nan_single", 8) + fault);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto log = records("nan_single");
  ASSERT_EQ(log.size(), 10u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].at("skipped").get<bool>(), i == 3 || i == 4) << "step " << i + 1;
  }
  EXPECT_TRUE(log[3].at("grad_norm").is_null());  // NaN is written as null
  expect_finite_checkpoint(work() + "/nan_single/step_00000010");
  // dp rank 0's NaN reaches every rank through the reductions; every rank skips alike.
  for (const auto& [name, ranks, flags] : std::vector<std::tuple<std::string, int, std::string>>{
           {"nan_dp2_zero2", 2, " --dp 2 --zero 2"},
           {"nan_pp2_1f1b", 2, " --pp 2 --schedule 1f1b"},
           {"nan_tp2_sp", 2, " --tp 2 --sp"}}) {
    r = run(mpirun(ranks) + train_flags(name, 4) + flags + fault);
    ASSERT_EQ(r.status, 0) << r.output;
    compare(name, "nan_single");
  }
}

// PowerSGD's residuals and Q absorbed the NaN gradients: they restart (zero, Q from the seed)
// and the run goes on with finite losses.
TEST(Guard, PowerSgdStateRestartsAfterNanGradients) {
  auto r = run(mpirun(2) + train_flags("nan_powersgd", 4) +
               " --dp 2 --grad-compress powersgd --powersgd-rank 2 --fault-nan-step 3");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto log = records("nan_powersgd");
  ASSERT_EQ(log.size(), 10u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].at("skipped").get<bool>(), i == 2) << "step " << i + 1;
    if (i != 2) {
      EXPECT_TRUE(std::isfinite(log[i].at("grad_norm").get<double>())) << "step " << i + 1;
    }
  }
  EXPECT_LT(log[9].at("loss").get<double>(), log[0].at("loss").get<double>());
  expect_finite_checkpoint(work() + "/nan_powersgd/step_00000010");
}

TEST(Guard, EndlessNanStopsWithExitThreeAndLatestBeforeTheTrouble) {
  const std::string ck = work() + "/nan_endless";
  auto r = run(mpirun(2) + train_flags("nan_endless", 4) +
               " --dp 2 --ckpt-every 2 --fault-nan-step 4 --fault-nan-steps 100 --max-skipped 3");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("parti: stopped: 3 steps in a row skipped (--max-skipped 3), the last "
                          "at step 6: non-finite gradient norm"),
            std::string::npos)
      << r.output;
  size_t messages = 0;
  for (size_t at = r.output.find("parti: stopped:"); at != std::string::npos;
       at = r.output.find("parti: stopped:", at + 1)) {
    ++messages;
  }
  EXPECT_EQ(messages, 1u) << "one message, not one per rank: " << r.output;
  // The checkpoint due at step 4 waited for an applied step that never came.
  EXPECT_EQ(latest(ck), "step_00000002");
  EXPECT_FALSE(fs::exists(ck + "/step_00000004"));
  expect_finite_checkpoint(ck + "/step_00000002");
  EXPECT_EQ(records("nan_endless").size(), 6u);
}

TEST(Guard, LearningRateOfAThousandStopsWithoutANonFiniteCheckpoint) {
  const std::string ck = work() + "/lr1e3";
  auto r = parti("train --data " + work() +
                 "/brown --model tiny --seq-len 16 --global-batch 2 --micro-batch 2 --steps 40 "
                 "--lr 1e3 --warmup 0 --min-lr 0 --eval-batches 0 --threads 1 --max-skipped 3 "
                 "--ckpt-every 1 --ckpt-dir " +
                 ck + " --log " + ck + ".jsonl");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("parti: stopped: 3 steps in a row skipped"), std::string::npos)
      << r.output;
  const auto log = records("lr1e3");
  ASSERT_GE(log.size(), 4u);
  const int64_t last_applied = log[log.size() - 4].at("step").get<int64_t>();
  for (size_t i = log.size() - 3; i < log.size(); ++i) {
    EXPECT_TRUE(log[i].at("skipped").get<bool>());
  }
  char expected[32];
  std::snprintf(expected, sizeof(expected), "step_%08lld", static_cast<long long>(last_applied));
  EXPECT_EQ(latest(ck), expected);
  for (const auto& entry : fs::directory_iterator(ck)) {
    if (entry.is_directory()) {
      expect_finite_checkpoint(entry.path().string());
    }
  }
}

// mpirun's MPMD form gives each rank its own flags.
TEST(Guard, RanksWithDifferentFlagsFailNamingTheFlag) {
  const std::string mpmd =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 1 " +
      std::string(PARTI_BINARY);
  const std::string other = " : -np 1 " + std::string(PARTI_BINARY);
  const std::string flags = train_flags("mpmd", 4) + " --dp 2";
  auto r = run(mpmd + flags + " --lr 1e-3" + other + flags + " --lr 2e-3");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("parti: error: rank 1: the ranks were started with different flags: "
                          "--lr (lr) is 0.002 here and 0.001 on rank 0"),
            std::string::npos)
      << r.output;
  r = run(mpmd + flags + other + flags + " --layers 3 --seed 7");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--layers (model.layers) is 3 here and 4 on rank 0"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("free()"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(work() + "/mpmd/latest"));
}

}  // namespace
}  // namespace parti::test

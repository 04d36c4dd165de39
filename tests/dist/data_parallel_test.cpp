// Issue #3, acceptance 2 (ZeRO 0 part): `tiny` for 10 steps at dp in {1, 2, 4}, with and
// without gradient accumulation, under mpirun, against the single-process run: per-step losses
// within 1e-5 relative and final parameters within 1e-5 relative (norm of the difference over
// the norm of all parameters, as issue #2 defines it). Per tensor the bound is 1e-4: tensors that
// start at zero (biases) have tiny norms after 10 steps, so their relative error measures Adam's
// reaction to rounding noise (seen: up to 8e-6); the key slice of c_attn.bias, whose true gradient
// is zero (tests/oracle/gpt_oracle.py), is left out.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/run.h"
#include "parti/io/safetensors.h"

namespace parti {
namespace {

namespace fs = std::filesystem;

const std::string& work() {
  static const std::string dir = [] {
    fs::path d = fs::temp_directory_path() / "parti_dp_test";
    fs::remove_all(d);
    fs::create_directories(d);
    auto r = test::parti("prepare --corpus brown --out " + (d / "brown").string());
    EXPECT_EQ(r.status, 0) << r.output;
    return d.string();
  }();
  return dir;
}

std::string train_flags(const std::string& name, int micro_batch) {
  return " train --data " + work() +
         "/brown --model tiny --seq-len 32 --global-batch 8 "
         "--micro-batch " +
         std::to_string(micro_batch) +
         " --steps 10 --lr 1e-3 --warmup 2 --eval-batches 0 --threads 1 --ckpt-dir " + work() +
         "/" + name + " --log " + work() + "/" + name + ".jsonl";
}

std::vector<double> losses(const std::string& name) {
  std::vector<double> out;
  std::istringstream lines(test::slurp(work() + "/" + name + ".jsonl"));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line).at("loss"));
  return out;
}

io::SafetensorsFile final_params(const std::string& name) {
  return io::read_safetensors(work() + "/" + name + "/step_00000010/model.safetensors");
}

const std::string& reference() {
  static const std::string name = [] {
    auto r = test::parti(train_flags("single", 8));
    EXPECT_EQ(r.status, 0) << r.output;
    return std::string("single");
  }();
  return name;
}

std::string mpirun(int np) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np " +
         std::to_string(np) + " " + PARTI_BINARY;
}

// Compares run `name` (already done) with the single-process reference.
void compare(const std::string& name);

void check_dp(int dp, int micro_batch, int zero = 0) {
  const std::string name = "dp" + std::to_string(dp) + "_mb" + std::to_string(micro_batch) +
                           "_zero" + std::to_string(zero);
  auto r = test::run(mpirun(dp) + train_flags(name, micro_batch) + " --dp " + std::to_string(dp) +
                     " --zero " + std::to_string(zero));
  ASSERT_EQ(r.status, 0) << r.output;
  compare(name);
}

void compare(const std::string& name) {
  const std::vector<double> ref = losses(reference()), got = losses(name);
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_LE(std::abs(got[i] - ref[i]), 1e-5 * std::abs(ref[i])) << "step " << i + 1;
  }
  const io::SafetensorsFile a = final_params(reference()), b = final_params(name);
  double diff = 0, norm = 0, worst = 0;
  std::string worst_name;
  for (const auto& [tensor, ta] : a.tensors) {
    const io::Tensor& tb = b.tensors.at(tensor);
    ASSERT_EQ(ta.shape, tb.shape) << tensor;
    const bool key_bias = tensor.ends_with("attn.c_attn.bias");
    const size_t C = key_bias ? ta.data.size() / 3 : 0;
    double d = 0, n = 0;
    for (size_t i = 0; i < ta.data.size(); ++i) {
      if (key_bias && i >= C && i < 2 * C) continue;
      const double x = ta.data[i], y = tb.data[i];
      d += (x - y) * (x - y);
      n += x * x;
    }
    diff += d;
    norm += n;
    const double rel = n > 0 ? std::sqrt(d / n) : std::sqrt(d);
    if (rel > worst) {
      worst = rel;
      worst_name = tensor;
    }
  }
  std::cout << name << ": parameters relative error " << std::sqrt(diff / norm) << ", worst tensor "
            << worst << " (" << worst_name << "), last loss " << got.back() << " vs " << ref.back()
            << "\n";
  EXPECT_LE(std::sqrt(diff / norm), 1e-5);
  EXPECT_LE(worst, 1e-4) << worst_name;
}

TEST(DataParallel, Dp1UnderMpirun) { check_dp(1, 8); }
TEST(DataParallel, Dp2) { check_dp(2, 4); }
TEST(DataParallel, Dp2WithAccumulation) { check_dp(2, 2); }
TEST(DataParallel, Dp4) { check_dp(4, 2); }
TEST(DataParallel, Dp4WithAccumulation) { check_dp(4, 1); }
TEST(DataParallel, Dp2Zero1) { check_dp(2, 4, 1); }
TEST(DataParallel, Dp4Zero1WithAccumulation) { check_dp(4, 1, 1); }

TEST(DataParallel, Zero1OptimizerStateIsAQuarterAtDp4) {
  check_dp(4, 2, 1);
  std::istringstream lines(test::slurp(work() + "/dp4_mb2_zero1.jsonl"));
  std::string first;
  std::getline(lines, first);
  const auto j = nlohmann::json::parse(first);
  const double optim = j.at("mem_optim"), params = j.at("mem_params");
  std::cout << "dp4 ZeRO-1 per rank: params " << params << " B, optimizer " << optim << " B\n";
  EXPECT_LE(optim, 2 * params / 4 + 64);  // two moments, a quarter each (+ shard padding)
  EXPECT_GT(j.at("comm_bytes").get<double>(), 0.0);
}

// Issue #3, acceptance 4: with 1 MB buckets an 8-layer `tiny` has five (the final norm with the
// last two blocks, then pairs of blocks, then the embeddings); the first ones are all-reduced
// while backward still runs. The log records, per step, how many buckets completed before
// backward ended (observed by the reducer's polls after each block).
TEST(DataParallel, BucketsReduceWhileBackwardRuns) {
  auto r = test::run(mpirun(2) + train_flags("overlap", 4) + " --layers 8 --dp 2 --bucket-mb 1");
  ASSERT_EQ(r.status, 0) << r.output;
  std::istringstream lines(test::slurp(work() + "/overlap.jsonl"));
  std::string line;
  int steps_with_overlap = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("buckets"), 5) << line;
    steps_with_overlap += j.at("buckets_done_in_backward").get<int>() > 0 ? 1 : 0;
  }
  std::cout << steps_with_overlap << " of 10 steps finished a bucket inside backward\n";
  EXPECT_GE(steps_with_overlap, 5);
}

TEST(DataParallel, SaveAtDp4Zero1ResumeOnOneProcess) {
  auto r = test::run(mpirun(4) + train_flags("reshard", 1) + " --dp 4 --zero 1 --stop-after 5");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::parti(train_flags("reshard", 8) + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 5"), std::string::npos) << r.output;
  compare("reshard");
}

}  // namespace
}  // namespace parti

// Issue #5, acceptance 4 (recomputation, which needs no pipeline): `tiny` trained with
// --recompute none, full and selective gives bit-identical losses, and the activation arena's
// peak (the JSONL's mem_activations) grows per layer by what each mode keeps: measured as the
// difference between 8 and 4 layers, full keeps one block input (B T C floats) per layer;
// selective keeps everything but the attention probabilities (B NH T T floats) per layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/run.h"
#include "support/scratch.h"

namespace parti {
namespace {

namespace fs = std::filesystem;

struct TrainRun {
  std::vector<double> losses;
  double activations = 0;
};

TrainRun train(const std::string& data, int layers, const std::string& mode) {
  const fs::path log = test::scratch_dir() / ("L" + std::to_string(layers) + "_" + mode + ".jsonl");
  fs::remove(log);
  auto r = test::parti("train --data " + data + " --model tiny --layers " + std::to_string(layers) +
                       " --seq-len 32 --global-batch 8 --micro-batch 4 --steps 4 --lr 1e-3 "
                       "--eval-batches 0 --threads 2 --recompute " +
                       mode + " --log " + log.string());
  EXPECT_EQ(r.status, 0) << r.output;
  TrainRun out;
  std::istringstream lines(test::slurp(log.string()));
  std::string line;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    out.losses.push_back(j.at("loss").get<double>());
    out.activations = j.at("mem_activations").get<double>();
  }
  return out;
}

TEST(Recompute, SameLossesLessActivationMemory) {
  const fs::path dir = test::scratch_dir();
  auto r =
      test::parti("prepare --text " + std::string(PARTI_SOURCE_DIR) +
                  "/README.md --tokenizer byte --val-fraction 0 --out " + (dir / "data").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string data = (dir / "data").string();
  const double B = 4, T = 32, C = 128, NH = 4, f = sizeof(float);
  double per_layer[3] = {0, 0, 0};
  const char* modes[3] = {"none", "full", "selective"};
  TrainRun base;
  for (int i = 0; i < 3; ++i) {
    const TrainRun four = train(data, 4, modes[i]), eight = train(data, 8, modes[i]);
    if (i == 0) base = eight;
    EXPECT_EQ(eight.losses, base.losses) << modes[i] << ": losses differ from --recompute none";
    per_layer[i] = (eight.activations - four.activations) / 4;
    std::cout << modes[i] << ": activation peak " << eight.activations << " bytes at 8 layers, "
              << per_layer[i] << " per layer\n";
  }
  EXPECT_EQ(per_layer[1], B * T * C * f) << "full: one block input per layer";
  EXPECT_EQ(per_layer[0] - per_layer[2], B * NH * T * T * f)
      << "selective: the attention probabilities dropped";
  EXPECT_LT(per_layer[1], per_layer[0] / 10);
}

}  // namespace
}  // namespace parti

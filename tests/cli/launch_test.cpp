// A friendlier run (issue #23): launch defaults as torchrun's and Megatron's (dp fills the job,
// the global batch is a micro-batch per dp rank), one error message per failure with its exit
// code, progress in the step line and the JSONL records, a new log per run, and scripts/plot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "cli/run.h"
#include "support/scratch.h"

namespace parti {
namespace {

namespace fs = std::filesystem;
using test::expect_one_line_error;  // NOLINT
using test::parti;                  // NOLINT

const std::string& work() {
  static const std::string dir = test::scratch_dir().string();
  return dir;
}

std::string mpirun(int np) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np " +
         std::to_string(np) + " " + PARTI_BINARY + " ";
}

std::vector<nlohmann::json> records(const std::string& log) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(test::slurp(log));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

const std::string kRun = " --model tiny --steps 3 --eval-batches 1 --threads 1 ";

// Acceptance: `mpirun -np 2 parti train --data D --model tiny` needs no --dp and equals --dp 2
// (with the global batch it implies, micro-batch 8 x dp 2), which equals one process.
TEST(Launch, DpFillsTheJobAndTheGlobalBatchIsAMicroBatchPerRank) {
  const std::string data = test::shared_brown();
  const auto train = [&](const std::string& launch, const std::string& name,
                         const std::string& extra) {
    const std::string log = work() + "/" + name + ".jsonl";
    const auto r = test::run(launch + "train --data " + data + kRun + "--log " + log + " " + extra);
    EXPECT_EQ(r.status, 0) << r.output;
    return records(log);
  };
  const auto inferred = train(mpirun(2), "inferred", "");
  const auto given = train(mpirun(2), "given", "--dp 2 --global-batch 16");
  const auto one = train(std::string(PARTI_BINARY) + " ", "one", "--global-batch 16");
  ASSERT_EQ(inferred.size(), 3u);
  ASSERT_EQ(given.size(), 3u);
  ASSERT_EQ(one.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(inferred[i].at("global_batch"), 16) << "step " << i + 1;
    EXPECT_EQ(inferred[i].at("loss"), given[i].at("loss")) << "step " << i + 1;
    const double ref = one[i].at("loss").get<double>();
    EXPECT_NEAR(inferred[i].at("loss").get<double>(), ref, 1e-5 * ref) << "step " << i + 1;
  }
  EXPECT_EQ(inferred.back().at("val_loss"), given.back().at("val_loss"));
}

// One message per failure: a flag every rank rejects is reported once, by rank 0, with exit
// code 2 and without MPI_Abort's banner; a job whose ranks do not fill tp x cp x pp says so.
TEST(Launch, ASetUpErrorIsReportedOnceWithItsExitCode) {
  const std::string data = test::shared_brown();
  auto r = test::run(mpirun(2) + "train --data " + data + kRun + "--global-batch 12");
  EXPECT_EQ(r.status, 2) << r.output;
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = r.output.find(needle); at != std::string::npos;
         at = r.output.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("parti: error: "), 1u) << r.output;
  EXPECT_EQ(count("parti: error: rank 0: --micro-batch 8 does not divide --global-batch 12"), 1u)
      << r.output;
  EXPECT_EQ(count("MPI_ABORT"), 0u) << r.output;
  // scripts/launch leaves out Open MPI's banners: the one line is all.
  expect_one_line_error(
      test::run("PARTI_BIN=" + std::string(PARTI_BINARY) + " " + PARTI_SOURCE_DIR +
                "/scripts/launch 2 train --data " + data + kRun + "--global-batch 12"),
      "parti: error: rank 0: --micro-batch 8 does not divide --global-batch 12");
  r = test::run(mpirun(3) + "train --data " + data + kRun + "--tp 2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(count("parti: error: "), 1u) << r.output;
  EXPECT_EQ(count("--dp 1 x --tp 2 x --cp 1 x --pp 1 = 2 ranks, but the job has 3 (mpirun -np); "
                  "without --dp, dp is the job's ranks / (tp x cp x pp), so -np must be a "
                  "multiple of 2"),
            1u)
      << r.output;
}

// Progress: the step line's tokens, time, ETA and memory; the records' run id, time and tokens;
// a log is a run's own (an existing one is refused, --overwrite replaces it).
TEST(Launch, StepLinesAndRecordsSayHowFarTheRunIs) {
  const std::string data = test::shared_brown(), log = work() + "/progress.jsonl";
  const std::string flags = "train --data " + data + kRun + "--log " + log;
  auto r = parti(flags);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("MFU against "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step     3/3 |"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" tok | "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", ETA "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" GiB"), std::string::npos) << r.output;
  auto first = records(log);
  ASSERT_EQ(first.size(), 3u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].at("tokens_seen"), static_cast<int>(i + 1) * 8 * 64);
    EXPECT_EQ(first[i].at("run"), first[0].at("run"));
    EXPECT_EQ(first[i].at("time").get<std::string>().size(), 24u) << first[i].at("time");
    EXPECT_GT(first[i].at("rss_bytes").get<double>(), 0.0);
  }
  expect_one_line_error(parti(flags), "--log " + log + " already holds an earlier run's records");
  EXPECT_EQ(records(log).size(), 3u) << "the refused run left the log alone";
  r = parti(flags + " --overwrite");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto second = records(log);
  ASSERT_EQ(second.size(), 3u) << "replaced, not appended to";
  EXPECT_NE(second[0].at("run"), first[0].at("run"));
}

// scripts/plot overlays two runs' logs into a PNG.
TEST(Launch, PlotDrawsTwoRunsIntoAPng) {
  const std::string data = test::shared_brown();
  std::string logs;
  for (const std::string name : {"plot_a", "plot_b"}) {
    const std::string log = work() + "/" + name + ".jsonl";
    const std::string lr = name == "plot_a" ? "1e-3" : "3e-3";
    const auto r =
        parti("train --data " + data + kRun + "--eval-every 2 --lr " + lr + " --log " + log);
    ASSERT_EQ(r.status, 0) << r.output;
    logs += " " + log;
  }
  const std::string png = work() + "/runs.png";
  const auto r = test::run(std::string(PARTI_SOURCE_DIR) + "/scripts/plot" + logs + " --out " +
                           png + " --x tokens");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("wrote " + png + " (2 runs)"), std::string::npos) << r.output;
  const std::string bytes = test::slurp(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << "a PNG file";
  const auto bad = test::run(std::string(PARTI_SOURCE_DIR) + "/scripts/plot " + work() +
                             "/nowhere.jsonl --out " + png);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("nowhere.jsonl"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace parti

// Issue #3, acceptance 6: a rank that stops responding (a testing aid makes dp rank 1 sleep at
// step 3) ends the job within --comm-timeout with a report naming the pending collective, its
// group and rank, and the operations that completed before it; with --check-collectives, ranks
// that call different collectives (a testing aid makes rank 1 skip step 2's loss all-reduce) fail
// with an error naming what each rank called.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "cli/run.h"
#include "support/scratch.h"

namespace parti {
namespace {

namespace fs = std::filesystem;

// Two ranks training `tiny` at dp=2 on byte-level README text, with extra flags.
test::RunResult train_two_ranks(const std::string& flags) {
  const fs::path dir = test::scratch_dir();
  if (!fs::exists(dir / "data/val.bin")) {
    auto r = test::parti("prepare --text " + std::string(PARTI_SOURCE_DIR) +
                         "/README.md --tokenizer byte --val-fraction 0 --out " +
                         (dir / "data").string());
    EXPECT_EQ(r.status, 0) << r.output;
  }
  return test::run(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 " +
      std::string(PARTI_BINARY) + " train --data " + (dir / "data").string() +
      " --model tiny --seq-len 16 --global-batch 2 --micro-batch 1 --dp 2 --threads 1 "
      "--steps 10 --eval-batches 0 " +
      flags);
}

TEST(Failure, StuckRankEndsTheJobWithAReport) {
  const auto start = std::chrono::steady_clock::now();
  auto r = train_two_ranks("--comm-timeout 3 --fault-hang-rank 1 --fault-hang-step 3");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_LT(seconds, 60.0) << "ended within the time-out, not a hang";
  for (const char* needle : {"rank 0: collective timed out after", "all_reduce #",
                             "on dp[0,1] (rank 0)", "done: all_reduce #"}) {
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in\n" << r.output;
  }
}

TEST(Failure, MismatchedCollectivesAreNamedWithCheckCollectives) {
  auto r = train_two_ranks(
      "--comm-timeout 60 --check-collectives --fault-skip-rank 1 "
      "--fault-skip-step 2");
  EXPECT_NE(r.status, 0) << r.output;
  for (const char* needle :
       {"collective mismatch on dp[0,1]", "group rank 0 calls all_reduce #5 of 1 double",
        "group rank 1 calls all_reduce(max) #5 of 3 double"}) {
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in\n" << r.output;
  }
}

}  // namespace
}  // namespace parti

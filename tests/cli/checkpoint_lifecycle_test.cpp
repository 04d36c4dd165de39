// The checkpoint folder's rules (issue #20): a new run does not replace a run's checkpoints
// unless told to, a resume refuses changed training flags unless they are named, --resume takes
// a step folder, a damaged newest checkpoint is passed over for the newest good one, and a
// resumed log holds each step once. Each resumed run is held to the uninterrupted one bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/run.h"
#include "support/scratch.h"

namespace parti {
namespace {

namespace fs = std::filesystem;
using test::expect_one_line_error;  // NOLINT
using test::parti;                  // NOLINT
using test::slurp;                  // NOLINT

std::string path(const std::string& name) { return test::scratch_dir().string() + "/" + name; }

std::string flags(int steps) {
  return "train --data " + test::shared_brown() +
         " --model tiny --global-batch 4 --micro-batch 2 --lr 1e-3 --warmup 2 --eval-batches 0 "
         "--threads 2 --steps " +
         std::to_string(steps) + " ";
}

std::vector<nlohmann::json> records(const std::string& log) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(slurp(log));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string model_of(const std::string& ck, int step) {
  char name[64];
  std::snprintf(name, sizeof(name), "/step_%08d/model.safetensors", step);
  return slurp(ck + name);
}

TEST(CheckpointLifecycle, ANewRunDoesNotReplaceARunsCheckpointsUnlessTold) {
  const std::string ck = path("ck");
  auto r = parti(flags(2) + "--ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string model = model_of(ck, 2);
  expect_one_line_error(parti(flags(3) + "--ckpt-dir " + ck),
                        "--ckpt-dir " + ck + " already holds checkpoints of a run");
  EXPECT_EQ(slurp(ck + "/latest"), "step_00000002\n");
  EXPECT_EQ(model_of(ck, 2), model) << "the refused run wrote nothing";
  expect_one_line_error(parti(flags(3) + "--resume --ckpt-dir " + ck + "/step_00000002"),
                        "is a step folder (it holds state.json): new checkpoints would nest");
  expect_one_line_error(parti(flags(3) + "--resume --overwrite --ckpt-dir " + ck),
                        "one of the two");
  r = parti(flags(3) + "--overwrite --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--overwrite: removed 1 step folders from " + ck), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(ck + "/step_00000002"));
  EXPECT_EQ(slurp(ck + "/latest"), "step_00000003\n");
}

TEST(CheckpointLifecycle, AResumeRefusesChangedTrainingFlagsUnlessNamed) {
  const std::string ck = path("ck");
  auto r = parti(flags(4) + "--stop-after 2 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_one_line_error(parti(flags(4) + "--resume --lr 2e-3 --seed 7 --ckpt-dir " + ck),
                        "--resume with changed training flags: --seed 7 (the checkpoint's: "
                        "1337), --lr 0.002 (the checkpoint's: 0.001)");
  expect_one_line_error(parti(flags(5) + "--resume --allow-changes micro-batch --ckpt-dir " + ck),
                        "--allow-changes: micro-batch is not a training flag");
  // The layout is not a training flag: another micro-batch trains the same model.
  r = parti(flags(4) + "--resume --micro-batch 1 --stop-after 1 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  r = parti(flags(6) + "--resume --lr 2e-3 --allow-changes lr,steps --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 3"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(ck + "/latest"), "step_00000006\n");
}

// --resume PATH: a step folder, new checkpoints beside it; the steps after it, which the log
// already holds, are logged once; the run ends as the uninterrupted one did.
TEST(CheckpointLifecycle, ResumeFromAStepFolderRepeatsTheRunAndItsLogOnce) {
  const std::string ck = path("ck"), log = path("run.jsonl");
  auto r = parti(flags(6) + "--ckpt-every 2 --ckpt-dir " + ck + " --log " + log);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<nlohmann::json> straight = records(log);
  const std::string model = model_of(ck, 6);
  r = parti(flags(6) + "--resume " + ck + "/step_00000002 --log " + log);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 2 from " + ck + "/step_00000002"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(ck + "/step_00000002/step_00000004")) << "nothing nested";
  EXPECT_EQ(model_of(ck, 6), model) << "the resumed run ends bit for bit as the first";
  const std::vector<nlohmann::json> resumed = records(log);
  ASSERT_EQ(resumed.size(), straight.size());
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].at("step"), static_cast<int>(i) + 1);
    EXPECT_EQ(resumed[i].at("loss"), straight[i].at("loss")) << "step " << i + 1;
  }
}

TEST(CheckpointLifecycle, ADamagedNewestCheckpointIsPassedOverWithAWarning) {
  const std::string ck = path("ck");
  auto r = parti(flags(4) + "--ckpt-every 2 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string model = model_of(ck, 4);
  {
    std::fstream io(ck + "/step_00000004/model.safetensors",
                    std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(model.size() - 100));
    io.put(static_cast<char>(model[model.size() - 100] ^ 0x5a));
  }
  r = parti(flags(4) + "--resume --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: checkpoint passed over: " + ck +
                          "/step_00000004/model.safetensors: checksum mismatch"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("resumed at step 2 from " + ck + "/step_00000002"), std::string::npos)
      << r.output;
  EXPECT_EQ(model_of(ck, 4), model) << "step 4 written again, as before";
  // Without `latest` (lost, or never moved): the newest complete step folder.
  fs::remove(ck + "/latest");
  r = parti(flags(5) + "--resume --allow-changes steps --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 4"), std::string::npos) << r.output;
  // None good: every reason named.
  for (const char* step : {"/step_00000002", "/step_00000004", "/step_00000005"}) {
    std::ofstream(ck + step + "/state.json") << "{";
  }
  expect_one_line_error(
      parti(flags(5) + "--resume --ckpt-dir " + ck),
      ck + ": no good checkpoint to resume: " + ck + "/step_00000005/state.json: corrupted");
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --async-save writes, from a background thread, exactly the bytes a blocking save writes (every
// rank's slices, PowerSGD's per-rank state, pruning), including when a stop ends the run with a
// save in flight; the run resumed from it ends as the uninterrupted one. A write that fails in
// the thread ends the run with the file's name and leaves `latest` where it was.
TEST(CheckpointLifecycle, AsyncSavesWriteTheBlockingSavesBytes) {
  const std::string mpirun =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 4 ";
  for (const std::string layout :
       {"--dp 2 --tp 2 --grad-compress powersgd", "--dp 2 --pp 2 --zero 3"}) {
    SCOPED_TRACE(layout);
    const std::string base = mpirun + PARTI_BINARY + " " + flags(6) +
                             "--global-batch 8 --ckpt-every 2 --keep-last 2 --threads 1 " + layout;
    const std::string blocking = path("blocking"), async = path("async"), cut = path("cut");
    for (const std::string& dir : {blocking, async, cut}) fs::remove_all(dir);
    auto r = test::run(base + " --ckpt-dir " + blocking);
    ASSERT_EQ(r.status, 0) << r.output;
    r = test::run(base + " --async-save --ckpt-dir " + async);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("checkpoint: " + async + "/step_00000004"), std::string::npos);
    // A stop right after step 1 (--time-limit) waits for its save; the resumed run ends alike.
    r = test::run(base + " --async-save --time-limit 0.0001 --ckpt-dir " + cut);
    ASSERT_EQ(r.status, 4) << r.output;
    EXPECT_NE(r.output.find("checkpoint " + cut + "/step_00000001; continue with --resume"),
              std::string::npos)
        << r.output;
    r = test::run(base + " --async-save --resume --ckpt-dir " + cut);
    ASSERT_EQ(r.status, 0) << r.output;
    const std::vector<std::string> files = files_under(blocking);
    EXPECT_EQ(files_under(async), files);
    EXPECT_EQ(files_under(cut), files);
    for (const std::string& file : files) {
      if (!file.ends_with(".safetensors")) continue;
      EXPECT_EQ(slurp(async + "/" + file), slurp(blocking + "/" + file)) << file;
      EXPECT_EQ(slurp(cut + "/" + file), slurp(blocking + "/" + file)) << file;
    }
  }
  const std::string full = path("full");
  const std::string limited = "trap '' XFSZ; ulimit -f 1024; exec " PARTI_BINARY " " + flags(4) +
                              "--async-save --ckpt-dir " + full;
  ASSERT_EQ(parti(flags(2) + "--ckpt-dir " + full).status, 0);
  const auto r = test::run(limited + " --resume --allow-changes steps");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(full + "/step_00000004.tmp/model.safetensors: write failed: File too "
                                 "large (errno 27)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(slurp(full + "/latest"), "step_00000002\n");
}

// parti elastic restarts failures of the run, not of its input: a bad flag (exit 2) ends it
// after one attempt. Its own flags are checked first.
TEST(Elastic, InputErrorsAreNotRestarted) {
  const std::string ck = path("elastic");
  auto r = test::run("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " PARTI_BINARY
                     " elastic --np 1 --max-restarts 3 -- " +
                     flags(2) + "--lr -1 --ckpt-dir " + ck);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--lr -1 and --min-lr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("elastic: the run ended with exit code 2 (its input"), std::string::npos)
      << r.output;
  std::ifstream events(ck + "/elastic.jsonl");
  std::string line;
  int starts = 0;
  while (std::getline(events, line)) starts += line.find("\"start\"") != std::string::npos;
  EXPECT_EQ(starts, 1);
  expect_one_line_error(parti("elastic --np 2 -- " + flags(2) + "--dp 1 --ckpt-dir " + ck),
                        "elastic: --np 2 but the train flags ask for dp 1 x tp 1");
  expect_one_line_error(parti("elastic --np 1 -- " + flags(2)),
                        "elastic: the train flags need --ckpt-dir");
  expect_one_line_error(parti("elastic --np 1 -- --steps 2"), "give its flags after `-- train`");
}

}  // namespace
}  // namespace parti

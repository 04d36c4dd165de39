// Checked inputs (issue #18): a damaged or hand-edited state.json, a `latest` that leaves the
// checkpoint folder, each gets one line naming the file and the field, before any model is
// built (they used to crash with SIGFPE, run another model, hang or train at step -5).
#include <gtest/gtest.h>

#include "parti/data/token_file.h"
#include "support/layout_runs.h"

namespace parti::test {

const char* work_name() { return "parti_checked_inputs_test"; }

namespace {

void expect_one_line_error(const RunResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("parti: error: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos)
      << "expected '" << needle << "' in " << r.output;
}

// A copy of the trained run's checkpoint folder with state.json's `pointer` set to `value`.
std::string edited(const std::string& name, const nlohmann::json::json_pointer& pointer,
                   const nlohmann::json& value) {
  const std::string dir = work() + "/" + name;
  fs::remove_all(dir);
  fs::copy(work() + "/base", dir, fs::copy_options::recursive);
  const std::string state = dir + "/step_00000002/state.json";
  nlohmann::json j = nlohmann::json::parse(slurp(state));
  j[pointer] = value;
  std::ofstream(state) << j.dump(1);
  return dir;
}

TEST(CheckedInputs, DamagedStateJsonIsNamedBeforeAnyModelIsBuilt) {
  auto r = parti(train_flags("base", 8, 2));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string tokens = " --tokens " + work() + "/brown/val.bin --max-windows 1";
  using P = nlohmann::json::json_pointer;
  const std::vector<std::tuple<std::string, P, nlohmann::json, std::string>> cases = {
      {"heads0", P("/config/model/heads"), 0,
       "the model it describes is not valid: --heads must be positive, got 0"},
      {"heads3", P("/config/model/heads"), 3, "--heads 3 does not divide --dim 128"},
      {"layers1e8", P("/config/model/layers"), 1e8, " parameters, but "},
      {"layers3", P("/config/model/layers"), 3, " parameters, but "},
      {"step", P("/step"), -5, "step -5 and optimizer_step 2 need 0 <= optimizer_step <= step"},
      {"type", P("/config/model/heads"), "four",
       "state.json: model config: field heads: [json.exception.type_error.302] type must be "
       "number, but is string"},
  };
  for (const auto& [name, pointer, value, needle] : cases) {
    const std::string dir = edited(name, pointer, value);
    SCOPED_TRACE(name);
    expect_one_line_error(parti("eval --ckpt " + dir + tokens),
                          dir + "/step_00000002/state.json: ");
    expect_one_line_error(parti("eval --ckpt " + dir + tokens), needle);
  }
  // Resuming reads the same checks.
  const std::string dir = edited("resume", P("/step"), -5);
  expect_one_line_error(parti(train_flags("resume", 8, 4) + " --resume"),
                        "need 0 <= optimizer_step <= step");
}

TEST(CheckedInputs, LatestMustNameAFolderInside) {
  auto r = parti(train_flags("base2", 8, 2));
  ASSERT_EQ(r.status, 0) << r.output;
  std::ofstream(work() + "/base2/latest") << "../base2/step_00000002\n";
  expect_one_line_error(parti("eval --ckpt " + work() + "/base2 --tokens " + work() +
                              "/brown/val.bin --max-windows 1"),
                        "/latest names '../base2/step_00000002': a step folder inside");
}

TEST(CheckedInputs, EmptyValidationAndAFullDiskAreErrors) {
  // A validation split shorter than one window: evaluation would report 0.
  const std::string data = work() + "/short_val";
  fs::remove_all(data);
  fs::copy(work() + "/brown", data, fs::copy_options::recursive);
  data::TokenFile val = data::read_token_file(data + "/val.bin");
  val.tokens.resize(10);
  data::write_token_file(data + "/val.bin", val);
  const std::string flags =
      " --model tiny --seq-len 32 --global-batch 8 --micro-batch 8 "
      "--steps 2 --threads 1 ";
  expect_one_line_error(parti("train --data " + data + flags + "--eval-batches 1"),
                        data + "/val.bin: 10 tokens hold no validation window of --seq-len 32");
  EXPECT_EQ(parti("train --data " + data + flags + "--eval-batches 0").status, 0);
  // /dev/full: every write fails with ENOSPC, from the first step's record on.
  auto r = parti("train --data " + work() + "/brown" + flags + "--eval-batches 0 --log /dev/full");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line(), "parti: error: --log /dev/full: write failed (No space left on device)");
}

// Sizes the machine cannot hold are refused before anything is allocated (they used to
// allocate gigabytes, then fail with std::bad_alloc), with the planner's estimate.
TEST(CheckedInputs, RunsTooBigForTheMachineAreRefusedWithTheEstimate) {
  const std::string base = "train --data " + work() + "/brown --steps 1 --threads 1 ";
  for (const std::string& flags :
       {std::string("--model tiny --dim 100000 --global-batch 8 --micro-batch 8"),
        std::string("--model tiny --global-batch 100000 --micro-batch 100000")}) {
    SCOPED_TRACE(flags);
    expect_one_line_error(parti(base + flags), " GiB per rank (parameters ");
    expect_one_line_error(parti(base + flags), "the planner's estimate) and this machine has ");
  }
}

}  // namespace
}  // namespace parti::test

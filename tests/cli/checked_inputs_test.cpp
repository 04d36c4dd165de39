// Checked inputs (issue #18): a damaged or hand-edited state.json, a `latest` that leaves the
// checkpoint folder, each gets one line naming the file and the field, before any model is
// built (they used to crash with SIGFPE, run another model, hang or train at step -5).
#include <gtest/gtest.h>

#include <algorithm>

#include "parti/data/token_file.h"
#include "support/layout_runs.h"

namespace parti::test {

namespace {

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
       "an integer, but is string"},
      // The fuzzer's find: a float out of int's range once reached a cast (undefined).
      {"float", P("/config/model/seq_len"), 6.5e102,
       "state.json: model config: field seq_len: [json.exception.out_of_range.406] number 6.5"},
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
  auto meta = nlohmann::json::parse(slurp(data + "/meta.json"));
  meta.erase("shards");  // read as a corpus from before the shard index
  std::ofstream(data + "/meta.json") << meta.dump();
  const std::string flags =
      " --model tiny --seq-len 32 --global-batch 8 --micro-batch 8 "
      "--steps 2 --threads 1 ";
  expect_one_line_error(parti("train --data " + data + flags + "--eval-batches 1"),
                        data + "/val.bin: 10 tokens hold no validation window of --seq-len 32");
  EXPECT_EQ(parti("train --data " + data + flags + "--eval-batches 0").status, 0);
  // /dev/full: every write fails with ENOSPC, from the first step's record on.
  auto r = parti("train --data " + work() + "/brown" + flags + "--eval-batches 0 --log /dev/full");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line(),
            "parti: error: --log /dev/full: write failed: No space left on device (errno 28)");
}

// `parti` with files limited to `kib` KiB (SIGXFSZ ignored, so a write past it fails with EFBIG
// as on a full disk).
RunResult parti_with_file_limit(int kib, const std::string& args) {
  return run("trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; exec " PARTI_BINARY " " + args);
}

std::vector<std::string> folder_names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A write that fails (full disk, file too large) names the file and the system's reason, and
// leaves what was there before whole: `prepare` replaces its folder in one step, a checkpoint
// never moves `latest`.
TEST(CheckedInputs, FailedWritesNameTheFileAndKeepTheOldFilesWhole) {
  const std::string texts = work() + "/texts";
  fs::create_directories(texts);
  std::string args = "prepare --tokenizer byte --val-fraction 0.2 --text";
  for (int i = 0; i < 10; ++i) {
    const std::string file = texts + "/doc" + std::to_string(i) + ".txt";
    std::ofstream(file) << std::string(3000, static_cast<char>('a' + i)) << "\n";
    args += " " + file;
  }
  const std::string out = work() + "/prepared";
  fs::remove_all(out);
  ASSERT_EQ(parti(args + " --out " + out).status, 0);
  const std::string train_before = slurp(out + "/train.bin"),
                    meta_before = slurp(out + "/meta.json");
  // The new train.bin is ~48 KB: past an 8 KiB limit the write fails, and nothing changes.
  const RunResult r = parti_with_file_limit(8, args + " --val-fraction 0.5 --out " + out);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(out + ".tmp-"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/train.bin.tmp: write failed: File too large (errno 27)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(slurp(out + "/train.bin"), train_before);
  EXPECT_EQ(slurp(out + "/meta.json"), meta_before);
  EXPECT_EQ(folder_names(out), (std::vector<std::string>{"meta.json", "train.bin", "val.bin"}));
  for (const auto& e : fs::directory_iterator(work())) {
    EXPECT_EQ(e.path().filename().string().find("prepared.tmp"), std::string::npos);
  }
  // A folder holding anything else is not replaced; a folder read as a file is named.
  std::ofstream(out + "/notes.txt") << "mine\n";
  expect_one_line_error(parti(args + " --out " + out),
                        "holds notes.txt, which is not part of a prepared corpus");
  fs::create_directories(work() + "/vocab/encoder.json");
  expect_one_line_error(
      parti("prepare --text " + texts + " --tokenizer-dir " + work() + "/vocab --out " + out + "2"),
      work() + "/vocab/encoder.json: read failed: Is a directory (errno 21)");

  // A checkpoint that cannot be written: the error names it, `latest` stays at step 2.
  ASSERT_EQ(parti(train_flags("full", 8, 2)).status, 0);
  const RunResult save =
      parti_with_file_limit(1024, train_flags("full", 8, 4) + " --resume --allow-changes steps");
  EXPECT_NE(save.status, 0) << save.output;
  EXPECT_NE(save.output.find(work() + "/full/step_00000004.tmp/model.safetensors: write failed: "
                                      "File too large (errno 27)"),
            std::string::npos)
      << save.output;
  EXPECT_EQ(slurp(work() + "/full/latest"), "step_00000002\n");
}

// Sizes the machine cannot hold are refused before anything is allocated (they used to
// allocate gigabytes, then fail with std::bad_alloc), with the planner's estimate.
TEST(CheckedInputs, RunsTooBigForTheMachineAreRefusedWithTheEstimate) {
  const std::string base = "train --data " + work() + "/brown --steps 1 --threads 1 ";
  for (const std::string& flags :
       {std::string("--model tiny --dim 100000 --global-batch 8 --micro-batch 8"),
        std::string("--model tiny --global-batch 100000 --micro-batch 100000"),
        std::string("--model tiny --seq-len 10000000 --global-batch 8 --micro-batch 8"),
        std::string("--model tiny --layers 100000 --global-batch 8 --micro-batch 8")}) {
    SCOPED_TRACE(flags);
    expect_one_line_error(parti(base + flags), " GiB per rank (parameters ");
    expect_one_line_error(parti(base + flags), "the planner's estimate) and this machine has ");
  }
}

}  // namespace
}  // namespace parti::test

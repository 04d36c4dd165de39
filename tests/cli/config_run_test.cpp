// Config files (issue #19): `parti train --config run.toml` runs what the flags run, bit for bit;
// every run with a checkpoint folder writes its own flags as run.toml; flags given on the command
// line win over the file; a bad file is one line naming it and the key or the line.
#include <gtest/gtest.h>

#include "support/layout_runs.h"

namespace parti::test {

namespace {

TEST(ConfigFile, TheRunTomlOfARunRepeatsItBitForBit) {
  const std::string extra =
      " --lr 2e-3 --min-lr 1.2345678901234567e-4 --grad-clip 0.5 --seed 7 --weight-decay 0.05 "
      "--recompute full";
  auto r = parti(train_flags("flags", 4, 6) + extra);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string toml = slurp(work() + "/flags/run.toml");
  EXPECT_NE(toml.find("lr = 0.002"), std::string::npos) << toml;
  EXPECT_NE(toml.find("recompute = 'full'"), std::string::npos) << toml;
  EXPECT_EQ(toml.find("resume"), std::string::npos) << toml;
  r = parti("train --config " + work() + "/flags/run.toml --ckpt-dir " + work() +
            "/from_file --log " + work() + "/from_file.jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(losses("from_file"), losses("flags"));
  EXPECT_EQ(losses("flags").size(), 6u);
  EXPECT_EQ(slurp(work() + "/from_file/step_00000006/model.safetensors"),
            slurp(work() + "/flags/step_00000006/model.safetensors"));
  // The second run's own run.toml differs only in the two flags it overrode.
  std::string again = slurp(work() + "/from_file/run.toml");
  for (size_t at; (at = again.find("from_file")) != std::string::npos;) {
    again.replace(at, 9, "flags");
  }
  EXPECT_EQ(again, toml);
}

TEST(ConfigFile, HandWrittenFilesCommandLineFlagsWinAndErrorsNameTheFile) {
  const std::string file = work() + "/hand.toml";
  std::ofstream(file) << "# by hand\n[train]\ndata = \"" << work() << "/brown\"\n"
                      << "model = \"tiny\"\nseq-len = 32\nglobal-batch = 8\nmicro-batch = 8\n"
                      << "steps = 5\nthreads = 1\neval-batches = 0\nsp = false\n"
                      << "log = \"" << work() << "/hand.jsonl\"\n";
  auto r = parti("train --config " + file + " --steps 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(losses("hand").size(), 2u);
  std::ofstream(work() + "/unknown.toml") << "model = \"tiny\"\nlayerz = 3\n";
  expect_one_line_error(
      parti("train --config " + work() + "/unknown.toml"),
      "--config " + work() + "/unknown.toml: layerz is not a flag of parti train");
  std::ofstream(work() + "/syntax.toml") << "model = \"tiny\"\nsteps = = 3\n";
  expect_one_line_error(parti("train --config " + work() + "/syntax.toml"),
                        "--config " + work() + "/syntax.toml:2:");
  std::ofstream(work() + "/section.toml") << "[eval]\nsteps = 3\n";
  expect_one_line_error(parti("train --config " + work() + "/section.toml"),
                        "[eval] is not a section Parti reads");
  expect_one_line_error(parti("train --config " + work() + "/absent.toml"),
                        "--config " + work() + "/absent.toml: File could not be opened");
}

}  // namespace
}  // namespace parti::test

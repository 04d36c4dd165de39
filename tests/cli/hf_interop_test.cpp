// Issue #19, part 3: Hugging Face model folders in and out. tests/oracle/hf_checkpoint.py writes a
// folder as transformers saves one (GPT-2: `transformer.` names, attn.bias buffers, a tied
// lm_head, float16; Llama: bfloat16, untied). `parti eval` of it equals PyTorch's forward of the
// same file; `train --init-from` starts from it (at tp 2 for GPT-2, dp 2 with ZeRO-3 for Llama)
// with a fresh optimizer; after one step of lr 1e-30 (which leaves float32 weights as they are)
// `parti export` writes a folder that hf_folder.py, following transformers' names and layouts,
// reads back to the same loss, with the tokenizer under Hugging Face's names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/run.h"
#include "parti/data/tokenizer.h"
#include "support/scratch.h"

namespace parti {
namespace {

namespace fs = std::filesystem;
using test::expect_one_line_error;  // NOLINT
using test::parti;                  // NOLINT

double python_loss(const std::string& script, const std::string& args) {
  const auto r = test::run("/usr/bin/python3 " + std::string(PARTI_SOURCE_DIR) + "/tests/oracle/" +
                           script + " " + args);
  EXPECT_EQ(r.status, 0) << r.output;
  return r.status == 0 ? nlohmann::json::parse(r.last_line()).at("loss").get<double>() : -1.0;
}

double parti_loss(const std::string& folder, const std::string& tokens) {
  const auto r =
      parti("eval --ckpt " + folder + " --tokens " + tokens + " --max-windows 1 --micro-batch 1");
  EXPECT_EQ(r.status, 0) << r.output;
  return r.status == 0 ? nlohmann::json::parse(r.last_line()).at("loss").get<double>() : -2.0;
}

struct Case {
  std::string family, tokenizer, layout;
};
std::ostream& operator<<(std::ostream& out, const Case& c) {
  return out << c.family << " at " << c.layout;
}

class HfInterop : public ::testing::TestWithParam<Case> {};

TEST_P(HfInterop, ImportEvalTrainAndExportMatchPyTorch) {
  const Case& c = GetParam();
  const std::string hf = test::scratch("hf_" + c.family), out = test::scratch("out_" + c.family);
  const std::string data = test::shared_brown(c.tokenizer), tokens = data + "/val.bin";
  auto r = test::run("/usr/bin/python3 " + std::string(PARTI_SOURCE_DIR) +
                     "/tests/oracle/hf_checkpoint.py write " + hf + " " + c.family);
  ASSERT_EQ(r.status, 0) << r.output;
  const double pytorch = python_loss("hf_checkpoint.py", "loss " + hf + " " + tokens);
  const double imported = parti_loss(hf, tokens);
  EXPECT_NEAR(imported, pytorch, 1e-5 * pytorch) << c.family;

  const std::string ck = test::scratch("ck_" + c.family);
  r = test::run(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun "
      "--oversubscribe -np 2 " +
      std::string(PARTI_BINARY) + " train --data " + data + " --init-from " + hf +
      " --steps 1 --global-batch 2 --micro-batch 1 --lr 1e-30 --min-lr 0 "
      "--eval-batches 0 --threads 1 --ckpt-dir " +
      ck + " " + c.layout);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("step     1/1"), std::string::npos) << r.output;  // from step 0
  r = parti("export --ckpt " + ck + " --hf " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NEAR(python_loss("hf_folder.py", out + " " + tokens), pytorch, 1e-5 * pytorch);
  EXPECT_NEAR(parti_loss(out, tokens), imported, 1e-6 * imported);
  if (c.tokenizer == "gpt2") {
    EXPECT_EQ(test::slurp(out + "/vocab.json"),
              test::slurp(data::default_gpt2_dir() + "/encoder.json"));
    EXPECT_EQ(test::slurp(out + "/merges.txt"),
              test::slurp(data::default_gpt2_dir() + "/vocab.bpe"));
  } else {
    EXPECT_EQ(test::slurp(out + "/tokenizer.json"),
              test::slurp(data::default_llama3_dir() + "/tokenizer.json"));
  }
}

INSTANTIATE_TEST_SUITE_P(Families, HfInterop,
                         ::testing::Values(Case{"gpt2", "gpt2", "--tp 2"},
                                           Case{"llama", "llama3", "--dp 2 --zero 3"}),
                         [](const auto& p) { return p.param.family; });

TEST(HfInterop, WhatPartiCannotComputeIsRefusedByName) {
  const std::string hf = test::scratch("hf_scaled");
  auto r = test::run("/usr/bin/python3 " + std::string(PARTI_SOURCE_DIR) +
                     "/tests/oracle/hf_checkpoint.py write " + hf + " llama");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string data = test::shared_brown("llama3");
  expect_one_line_error(parti("train --data " + data + " --init-from " + hf + " --model tiny"),
                        "give --model PRESET or --init-from DIR");
  auto config = nlohmann::json::parse(test::slurp(hf + "/config.json"));
  config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  std::ofstream(hf + "/config.json") << config.dump();
  expect_one_line_error(parti("train --data " + data + " --init-from " + hf),
                        hf + "/config.json: rope_scaling");
  config["model_type"] = "mistral";
  std::ofstream(hf + "/config.json") << config.dump();
  expect_one_line_error(parti("eval --ckpt " + hf + " --tokens " + data + "/val.bin"),
                        "model_type mistral is not a family Parti has");
}

}  // namespace
}  // namespace parti

// End-to-end tests of the `parti` binary: resume bit for bit (issue #2, acceptance 5), bad input
// (acceptance 6: one-line error naming the file or flag, non-zero exit, existing output kept),
// and the prepare / train / eval / generate / tokenize round.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/run.h"
#include "parti/data/corpus.h"
#include "parti/data/token_file.h"
#include "parti/data/token_split.h"
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

// Brown in GPT-2 tokens, prepared once per ctest run (the TestData.Brown fixture).
const std::string& brown() {
  static const std::string dir = test::shared_brown();
  return dir;
}

const std::string kTiny =
    " --model tiny --global-batch 4 --micro-batch 2 --steps 20 --lr 1e-3 --warmup 4 "
    "--eval-batches 1 --eval-every 10 --threads 2 ";

std::vector<nlohmann::json> read_log(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::istringstream lines(test::slurp(path));
  std::string line;
  while (std::getline(lines, line)) records.push_back(nlohmann::json::parse(line));
  return records;
}

TEST(Cli, ResumeContinuesBitForBit) {
  const std::string a = work() + "/straight", b = work() + "/resumed";
  auto r = parti("train --data " + brown() + kTiny + "--ckpt-dir " + a + " --log " + a + ".jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  r = parti("train --data " + brown() + kTiny + "--stop-after 10 --ckpt-dir " + b + " --log " + b +
            ".jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  r = parti("train --data " + brown() + kTiny + "--resume --ckpt-dir " + b + " --log " + b +
            ".jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 10"), std::string::npos) << r.output;
  auto straight = read_log(a + ".jsonl"), resumed = read_log(b + ".jsonl");
  ASSERT_EQ(straight.size(), 20u);
  ASSERT_EQ(resumed.size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    for (const char* key : {"step", "loss", "lr", "grad_norm"}) {
      EXPECT_EQ(straight[i][key], resumed[i][key]) << key << " at step " << i + 1;
    }
    EXPECT_EQ(straight[i].contains("val_loss"), resumed[i].contains("val_loss"));
    if (straight[i].contains("val_loss")) {
      EXPECT_EQ(straight[i]["val_loss"], resumed[i]["val_loss"]);
    }
  }
  for (const char* file : {"model.safetensors", "optim.safetensors"}) {
    EXPECT_EQ(test::slurp(a + "/step_00000020/" + file), test::slurp(b + "/step_00000020/" + file))
        << file << " differs";
  }
}

TEST(Cli, PrepareTrainEvalGenerateTokenize) {
  const std::string ck = work() + "/round";
  auto r = parti("train --data " + brown() + kTiny + "--steps 4 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OpenBLAS kernel"), std::string::npos) << "prints the GEMM kernel";
  EXPECT_TRUE(fs::exists(ck + "/config.json"));
  r = parti("eval --ckpt " + ck + " --tokens " + brown() + "/val.bin --max-windows 8");
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.last_line());
  EXPECT_GT(j["loss"].get<double>(), 0.0);
  EXPECT_NEAR(j["perplexity"].get<double>(), std::exp(j["loss"].get<double>()), 1e-6);
  EXPECT_EQ(j["tokens"], 8 * 64);
  r = parti("generate --ckpt " + ck + " --prompt 'The jury said' --max-tokens 8 --seed 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("The jury said", 0), 0u) << r.output;
  EXPECT_NE(r.last_line().find("tokens/s (key/value cache"), std::string::npos) << r.output;
  // The text: everything but the timing line.
  auto text = [](const test::RunResult& g) {
    return g.output.substr(0, g.output.rfind("generate:"));
  };
  auto again = parti("generate --ckpt " + ck + " --prompt 'The jury said' --max-tokens 8 --seed 3");
  EXPECT_EQ(text(again), text(r)) << "same seed, same text";
  again = parti("generate --ckpt " + ck +
                " --prompt 'The jury said' --max-tokens 8 --seed 3 --no-cache");
  EXPECT_EQ(text(again), text(r)) << "the cache changes nothing but the speed";
  // Unconditional samples (from <|endoftext|>), two of them, nucleus sampling.
  r = parti("generate --ckpt " + ck + " --max-tokens 6 --num-samples 2 --top-p 0.9");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--- sample 2 (seed 2) ---"), std::string::npos) << r.output;
  expect_one_line_error(parti("generate --ckpt " + ck + " --top-p 1.5"),
                        "--top-p must be in (0, 1]");
  expect_one_line_error(
      parti("generate --ckpt " + ck + " --prompt 'The' --max-tokens 8 --temperature nan"),
      "--temperature must be a finite number >= 0");
  r = parti("tokenize --text 'Hello world'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line(), "[15496,995]");
}

// A step folder is a Hugging Face model folder: tests/oracle/hf_folder.py derives every tensor
// name and shape from config.json alone, checks model.safetensors against them, and runs that
// model in PyTorch; its loss on the first validation window must equal `parti eval`'s.
void expect_hugging_face_folder(const std::string& ckpt, const std::string& tokens) {
  const std::string step = ckpt + "/" + test::slurp(ckpt + "/latest").substr(0, 13);
  const auto py = test::run("/usr/bin/python3 " + std::string(PARTI_SOURCE_DIR) +
                            "/tests/oracle/hf_folder.py " + step + " " + tokens);
  ASSERT_EQ(py.status, 0) << py.output;
  auto ev = parti("eval --ckpt " + step + " --tokens " + tokens + " --max-windows 1");
  ASSERT_EQ(ev.status, 0) << ev.output;
  const double torch_loss = nlohmann::json::parse(py.last_line()).at("loss").get<double>();
  const double loss = nlohmann::json::parse(ev.last_line()).at("loss").get<double>();
  EXPECT_NEAR(loss, torch_loss, 1e-5 * torch_loss) << step;
  std::cout << step << ": " << py.last_line() << ", parti eval " << loss << "\n";
}

TEST(Cli, GptCheckpointsAreHuggingFaceFolders) {
  const std::string ck = work() + "/hf_gpt2";
  auto r = parti("train --data " + brown() + kTiny + "--steps 2 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_hugging_face_folder(ck, brown() + "/val.bin");
  const auto hf = nlohmann::json::parse(test::slurp(ck + "/step_00000002/config.json"));
  EXPECT_EQ(hf.at("eos_token_id"), 50256);
}

// Llama 3 tokens end to end (issue #17): prepare (32-bit token files, begin/end of text around
// each document), train llama-tiny, a Hugging Face folder with LlamaConfig, generate.
TEST(Cli, Llama3TokensTrainAndCheckpointAsHuggingFaceFolders) {
  const std::string data = test::shared_brown("llama3"), ck = work() + "/hf_llama";
  const auto meta = nlohmann::json::parse(test::slurp(data + "/meta.json"));
  EXPECT_EQ(meta.at("vocab_size"), 128256);
  EXPECT_EQ(meta.at("bos"), 128000);
  const data::TokenFile val = data::read_token_file(data + "/val.bin");
  ASSERT_FALSE(val.tokens.empty());
  EXPECT_EQ(val.tokens.front(), 128000u) << "a document starts with <|begin_of_text|>";
  EXPECT_EQ(val.tokens.back(), 128001u) << "and ends with <|end_of_text|>";
  auto r = parti("train --data " + data +
                 " --model llama-tiny --global-batch 2 --micro-batch 2 --steps 2 --eval-batches 1 "
                 "--threads 2 --ckpt-dir " +
                 ck);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_hugging_face_folder(ck, data + "/val.bin");
  const auto hf = nlohmann::json::parse(test::slurp(ck + "/step_00000002/config.json"));
  EXPECT_EQ(hf.at("model_type"), "llama");
  EXPECT_EQ(hf.at("num_key_value_heads"), 2);
  EXPECT_EQ(hf.at("bos_token_id"), 128000);
  EXPECT_EQ(hf.at("eos_token_id"), 128001);
  EXPECT_FALSE(
      fs::exists(ck + "/step_00000002/state.json") &&
      nlohmann::json::parse(test::slurp(ck + "/step_00000002/state.json")).contains("hf_config"));
  r = parti("generate --ckpt " + ck + " --prompt 'The jury said' --max-tokens 4 --seed 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("The jury said", 0), 0u) << r.output;
  r = parti("tokenize --tokenizer llama3 --text 'Hello world!'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line(), "[9906,1917,0]");
}

TEST(Cli, BadTokenFilesAreClearErrors) {
  const std::string d = work() + "/bad_data";
  fs::remove_all(d);
  fs::copy(brown(), d);
  auto train = [&] { return parti("train --data " + d + kTiny + "--steps 1"); };
  expect_one_line_error(parti("train --data " + work() + "/nowhere" + kTiny), "meta.json");
  fs::remove(d + "/val.bin");
  expect_one_line_error(train(), d + "/val.bin: cannot open");
  fs::copy(brown() + "/val.bin", d + "/val.bin");
  fs::resize_file(d + "/train.bin", fs::file_size(d + "/train.bin") - 7);
  expect_one_line_error(train(), d + "/train.bin: truncated");
  std::ofstream(d + "/train.bin", std::ios::binary) << std::string(200, 'z');
  expect_one_line_error(train(), d + "/train.bin: wrong header");
  data::write_token_file(d + "/train.bin", {50257, 50256, {1, 2, 3, 60000, 4}});
  expect_one_line_error(train(), "token id 60000 at position 3 is outside the vocabulary");
}

TEST(Cli, BadFlagsAreCaughtBeforeAnyWork) {
  const std::string ck = work() + "/flags";
  fs::create_directories(ck);
  std::ofstream(ck + "/keep.txt") << "keep";
  auto r = parti("train --data " + brown() + kTiny + "--heads 5 --ckpt-dir " + ck);
  expect_one_line_error(r, "--heads 5 does not divide --dim 128");
  r = parti("train --data " + brown() + kTiny + "--global-batch 6 --micro-batch 4 --ckpt-dir " +
            ck);
  expect_one_line_error(r, "--micro-batch 4 does not divide --global-batch 6");
  EXPECT_EQ(fs::directory_iterator(ck)->path().filename(), "keep.txt");
  EXPECT_EQ(std::distance(fs::directory_iterator(ck), fs::directory_iterator{}), 1);
}

TEST(Cli, EmptyCorpusKeepsExistingOutput) {
  const std::string out = work() + "/empty_out";
  fs::create_directories(out);
  std::ofstream(out + "/train.bin") << "precious";
  std::ofstream(work() + "/empty.txt") << "";
  auto r = parti("prepare --text " + work() + "/empty.txt --out " + out + " --tokenizer byte");
  expect_one_line_error(r, "empty corpus");
  EXPECT_EQ(test::slurp(out + "/train.bin"), "precious");
}

// A user's corpus as one text file (blank lines between documents), a folder of files, JSONL, and
// the gzip forms (issue #19): the same Brown texts give the same token files, which train.
TEST(Cli, EveryCorpusFormPreparesTheSameTokens) {
  const std::string d = work() + "/forms";
  fs::create_directories(d + "/files");
  std::vector<data::Document> docs = data::read_brown(data::default_brown_dir());
  docs.resize(40);
  std::ofstream one(d + "/one.txt"), jsonl(d + "/docs.jsonl");
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string text = docs[i].text;
    while (!text.empty() && text.back() == '\n') text.pop_back();  // blank-line splitting drops it
    std::ofstream(d + "/files/" + docs[i].name) << text;
    one << text << "\n\n";
    jsonl << nlohmann::json{{"text", text}, {"source", docs[i].name}}.dump() << "\n";
  }
  one.close();
  jsonl.close();
  ASSERT_EQ(test::run("gzip -k " + d + "/one.txt " + d + "/docs.jsonl").status, 0);
  const auto prepare = [&](const std::string& name, const std::string& inputs) {
    auto r = parti("prepare --val-fraction 0.1 --out " + d + "/" + name + " --text " + inputs);
    EXPECT_EQ(r.status, 0) << r.output;
    return test::slurp(d + "/" + name + "/train.bin") + test::slurp(d + "/" + name + "/val.bin");
  };
  const std::string files = prepare("out_files", d + "/files --doc-sep file");
  EXPECT_GT(files.size(), 100'000u);
  EXPECT_EQ(prepare("out_one", d + "/one.txt"), files);
  EXPECT_EQ(prepare("out_jsonl", d + "/docs.jsonl"), files);
  EXPECT_EQ(prepare("out_one_gz", d + "/one.txt.gz"), files);
  EXPECT_EQ(prepare("out_jsonl_gz", d + "/docs.jsonl.gz"), files);
  auto r = parti("train --data " + d + "/out_jsonl_gz" + kTiny + "--steps 2");
  EXPECT_EQ(r.status, 0) << r.output;
}

// A corpus prepared in shards (issue #19) holds the tokens of its one-file form and trains
// exactly as it does, on one process and on two; a truncated shard is named.
TEST(Cli, ShardedCorpusTrainsExactlyAsItsOneFileForm) {
  const std::string sharded = work() + "/sharded";
  auto r = parti("prepare --corpus brown --shard-tokens 300000 --out " + sharded);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(sharded + "/train-00003.bin"));
  EXPECT_FALSE(fs::exists(sharded + "/train-00004.bin") || fs::exists(sharded + "/train.bin"));
  const data::TokenFile whole = data::read_token_file(brown() + "/train.bin");
  const data::TokenSplit split = data::TokenSplit::open(sharded, "train");
  std::vector<uint32_t> tokens(split.size());
  split.read(0, tokens.size(), tokens.data());
  EXPECT_EQ(tokens, whole.tokens);
  const auto losses = [&](const std::string& launch, const std::string& data,
                          const std::string& name) {
    const std::string log = work() + "/" + name + ".jsonl";
    const std::string dp = launch.starts_with("OMPI") ? " --dp 2" : "";
    auto run = test::run(launch + " train --data " + data + kTiny +
                         "--steps 6 --eval-every 3 --log " + log + dp);
    EXPECT_EQ(run.status, 0) << run.output;
    std::string out, line;
    std::istringstream lines(test::slurp(log));
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line);
      out += j.at("loss").dump() + " " + j.value("val_loss", nlohmann::json()).dump() + "\n";
    }
    return out;
  };
  const std::string mpirun2 =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 " +
      std::string(PARTI_BINARY);
  const std::string one_process = losses(PARTI_BINARY, brown(), "whole1");
  EXPECT_EQ(std::count(one_process.begin(), one_process.end(), '\n'), 6) << one_process;
  EXPECT_EQ(losses(PARTI_BINARY, sharded, "sharded1"), one_process);
  EXPECT_EQ(losses(mpirun2, sharded, "sharded2"), losses(mpirun2, brown(), "whole2"));
  fs::resize_file(sharded + "/train-00002.bin", 1000);
  expect_one_line_error(parti("train --data " + sharded + kTiny + "--steps 1"),
                        sharded + "/train-00002.bin: truncated token file");
}

// Issue #20, first part: --keep-last N keeps the newest N complete checkpoints, and the .tmp
// folder a killed save left is removed at the next save.
TEST(Cli, KeepLastPrunesOldCheckpointsAndStaleTmpFolders) {
  const std::string ck = work() + "/keep";
  fs::create_directories(ck + "/step_00000099.tmp");
  std::ofstream(ck + "/step_00000099.tmp/model.safetensors") << "half written";
  const auto names = [&] {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(ck)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  };
  auto r = parti("train --data " + brown() + kTiny +
                 "--steps 6 --ckpt-every 1 --keep-last 2 --eval-batches 0 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("removed " + ck + "/step_00000099.tmp"), std::string::npos) << r.output;
  EXPECT_EQ(names(), (std::vector<std::string>{"config.json", "latest", "run.toml", "step_00000005",
                                               "step_00000006"}));
  r = parti("train --data " + brown() + kTiny +
            "--steps 8 --ckpt-every 1 --keep-last 2 --eval-batches 0 --resume --allow-changes "
            "steps --ckpt-dir " +
            ck);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed at step 6"), std::string::npos) << r.output;
  EXPECT_EQ(names(), (std::vector<std::string>{"config.json", "latest", "run.toml", "step_00000007",
                                               "step_00000008"}));
}

TEST(Cli, DamagedCheckpointsAreDetected) {
  const std::string ck = work() + "/damaged";
  auto r = parti("train --data " + brown() + kTiny + "--steps 2 --ckpt-dir " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string model = ck + "/step_00000002/model.safetensors";
  const std::string original = test::slurp(model);
  {
    std::fstream io(model, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(original.size() - 100));
    io.put('\x5a');
  }
  expect_one_line_error(parti("eval --ckpt " + ck + " --tokens " + brown() + "/val.bin"),
                        model + ": checksum mismatch");
  const std::string log = ck + "/log.jsonl";
  std::ofstream(log) << "{\"step\":0}\n";
  expect_one_line_error(
      parti("train --data " + brown() + kTiny + "--resume --ckpt-dir " + ck + " --log " + log),
      "checksum mismatch");
  EXPECT_EQ(test::slurp(log), "{\"step\":0}\n") << "the log was not touched";
  fs::resize_file(model, original.size() / 2);
  expect_one_line_error(parti("eval --ckpt " + ck + " --tokens " + brown() + "/val.bin"),
                        model + ": truncated");
  expect_one_line_error(parti("eval --ckpt " + work() + "/no_ckpt --tokens x"), "no checkpoint");
}

// `bench comm` under mpirun: one row per doubling size, bus bandwidth by the nccl-tests factor,
// the ratio of Open MPI's own time to Parti's; a clear error outside mpirun and for a bad op.
TEST(Cli, BenchCommPrintsEachSizeNextToOpenMpi) {
  const std::string mpirun =
      "OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun "
      "--oversubscribe -np 2 " +
      std::string(PARTI_BINARY);
  const std::map<std::string, double> factor = {
      {"all_reduce", 1.0}, {"reduce_scatter", 0.5}, {"all_gather", 0.5}, {"sendrecv", 1.0}};
  for (const auto& [op, bus] : factor) {
    for (const char* form : {"", " --nonblocking"}) {
      auto r = test::run(mpirun + " bench comm --op " + op + " --min 1K --max 8K --iters 3" + form);
      ASSERT_EQ(r.status, 0) << r.output;
      std::istringstream lines(r.output);
      std::string line;
      std::vector<std::string> sizes;
      while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream row(line);
        std::string size;
        double count = 0, iters = 0, us = 0, algbw = 0, busbw = 0, mpi_us = 0, mpi_busbw = 0;
        double ratio = 0;
        row >> size >> count >> iters >> us >> algbw >> busbw >> mpi_us >> mpi_busbw >> ratio;
        ASSERT_TRUE(row) << line;
        sizes.push_back(size);
        EXPECT_EQ(count * 4, 1024 << (sizes.size() - 1)) << line;
        EXPECT_EQ(iters, 3) << line;
        EXPECT_GT(us, 0) << line;
        EXPECT_NEAR(busbw, algbw * bus, 2e-3) << line;
        // (times print to 0.1 us)
        EXPECT_NEAR(algbw, count * 4 / 1e3 / us, 2e-3 + algbw * 0.06 / us) << line;
        EXPECT_NEAR(ratio, mpi_us / us, 2e-3 + ratio * (0.06 / us + 0.06 / mpi_us)) << line;
      }
      EXPECT_EQ(sizes, (std::vector<std::string>{"1K", "2K", "4K", "8K"})) << r.output;
    }
  }
  expect_one_line_error(parti("bench comm --op all_reduce"), "run it under mpirun");
  auto r = test::run(mpirun + " bench comm --op alltoall");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--op alltoall: expected all_reduce"), std::string::npos) << r.output;
}

// `parti schedule`: the grid, the checker's verdict, the bubble beside its formula, the peak
// in-flight micro-batches; clear errors for impossible combinations.
TEST(Cli, SchedulePrintsTheTimelineBubbleAndMemory) {
  auto r = parti("schedule --pp 4 --micro-batches 8 --schedule 1f1b");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* needle :
       {"1f1b schedule, 4 stages, 8 micro-batches, 1 virtual stage: valid",
        "stage 3 | .  .  .  F0 B0 B0 F1", "bubble fraction 0.2727 ((P-1)/(M+P-1) = 0.2727)",
        "peak in-flight micro-batch-chunks per stage: 4 3 2 1"}) {
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in\n" << r.output;
  }
  r = parti("schedule --pp 2 --micro-batches 4 --schedule interleaved --virtual-stages 2 --list");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("bubble fraction 0.1111 ((P-1)/(V M+P-1) = 0.1111)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("stage 1: RA0.c1<0 F0.c1 SA0.c1>0"), std::string::npos) << r.output;
  expect_one_line_error(parti("schedule --pp 4 --micro-batches 6 --schedule interleaved "
                              "--virtual-stages 2"),
                        "needs the 6 micro-batches per step to be a multiple of --pp 4");
  expect_one_line_error(parti("schedule --schedule pipedream"),
                        "--schedule pipedream: expected gpipe, 1f1b, interleaved or zb");
}

// Issue #6: `parti plan` prints the best layouts and the first tries; --json ends with the
// candidates; layout flags fix their dimension; bad input is one clear line.
// The planner knows Llama (issue #17): llama3-8b on 64 H100s gets a layout that fits, whose tp
// divides the 8 key/value heads, at a plausible share of the peak; a tp that does not divide the
// key/value heads is never proposed.
TEST(Cli, PlanKnowsLlama) {
  auto r = parti("plan --model llama3-8b --global-batch 1024 --gpus 64 --hardware h100-sxm --json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("llama 32 layers x 4096 wide, 32 heads (8 key/value), MLP 14336"),
            std::string::npos)
      << r.output;
  const auto all = nlohmann::json::parse(r.last_line());
  ASSERT_FALSE(all.empty());
  // The 8 key/value heads split over tp (1D) or over a grid's side (2D).
  const auto head_parts = [](const nlohmann::json& c) {
    const int tp = c["tp"].get<int>();
    return c["tp_mode"] == "2d" ? static_cast<int>(std::lround(std::sqrt(tp))) : tp;
  };
  for (const auto& c : all) {
    EXPECT_EQ(8 % head_parts(c), 0) << c.dump();
    EXPECT_LE(c["memory_bytes"].get<double>(), 80.0 * (1 << 30)) << c.dump();
    EXPECT_GT(c["mfu"].get<double>(), 0.2) << c.dump();
    EXPECT_LT(c["mfu"].get<double>(), 0.8) << c.dump();
  }
  // tp 16 cannot split 8 key/value heads in 1D; as a 4 x 4 grid it can (issue #21).
  r = parti(
      "plan --model llama3-8b --global-batch 1024 --gpus 64 --hardware h100-sxm --tp 16 "
      "--tp-mode 1d");
  EXPECT_NE(r.status, 0) << r.output;
  r = parti(
      "plan --model llama3-8b --global-batch 1024 --gpus 64 --hardware h100-sxm --tp 16 "
      "--json");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& c : nlohmann::json::parse(r.last_line())) {
    EXPECT_EQ(c["tp_mode"], "2d") << c.dump();
  }
}

TEST(Cli, PlanPrintsRankedLayoutsAndJson) {
  auto r = parti(
      "plan --model gpt2 --global-batch 64 --gpus 16 --gpus-per-node 8 "
      "--hardware a100-80gb --top 3 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* needle : {"searched ", "legal", "rank    dp  cp   tp",
                             "first tries:", "data parallel alone (ZeRO-0)"}) {
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in\n" << r.output;
  }
  const auto all = nlohmann::json::parse(r.last_line());
  ASSERT_EQ(all.size(), 3u);
  for (const char* key : {"dp", "cp", "tp", "pp", "sp", "zero", "micro_batch", "virtual_stages",
                          "recompute", "schedule", "step_time_s", "tokens_per_s",
                          "model_tflops_per_device", "mfu", "memory_bytes"}) {
    EXPECT_TRUE(all[0].contains(key)) << key;
  }
  EXPECT_EQ(all[0]["dp"].get<int>() * all[0]["cp"].get<int>() * all[0]["tp"].get<int>() *
                all[0]["pp"].get<int>(),
            16);
  r = parti(
      "plan --model gpt2 --global-batch 64 --gpus 16 --hardware a100-80gb --tp 4 --pp 2 "
      "--no-sp --zero 1 --recompute full --top 2 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& c : nlohmann::json::parse(r.last_line())) {
    EXPECT_EQ(c["tp"], 4);
    EXPECT_EQ(c["pp"], 2);
    EXPECT_EQ(c["sp"], false);
    EXPECT_EQ(c["zero"], 1);
    EXPECT_EQ(c["recompute"], "full");
  }
  r = parti("plan --model gpt2 --global-batch 64 --gpus 16 --hardware a100-80gb --cp 2 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& c : nlohmann::json::parse(r.last_line())) EXPECT_EQ(c["cp"], 2);
  // FSDP's mixed precision keeps no bf16 copy of the weights: the same layout in fewer bytes.
  const std::string z3 =
      "plan --model gpt2 --global-batch 64 --gpus 16 --hardware a100-80gb --dp 16 --tp 1 --pp 1 "
      "--zero 3 --micro-batch 4 --recompute none --top 1 --json";
  const test::RunResult copy = parti(z3), cast = parti(z3 + " --no-weights-copy");
  ASSERT_EQ(copy.status, 0) << copy.output;
  ASSERT_EQ(cast.status, 0) << cast.output;
  EXPECT_NE(cast.output.find("no weights copy"), std::string::npos) << cast.output;
  EXPECT_LT(nlohmann::json::parse(cast.last_line())[0]["memory_bytes"].get<double>(),
            nlohmann::json::parse(copy.last_line())[0]["memory_bytes"].get<double>());
  expect_one_line_error(parti("plan --model gpt2 --global-batch 8 --gpus 2 --hardware tpu-v9"),
                        "--hardware tpu-v9: no profile");
  expect_one_line_error(parti("plan --model gpt2 --global-batch 8 --gpus 2 --hardware a100-80gb "
                              "--attention-dropout 1"),
                        "--attention-dropout 1: expected a probability in [0, 1)");
  // The loss's kernel: the header names it (eager kernels default to autocast's); a bad one is
  // named.
  r = parti(z3 + " --kernels eager");
  EXPECT_NE(r.output.find("eager kernels, autocast loss"), std::string::npos) << r.output;
  // Megatron-LM's overlaps of the distributed optimizer's gather and of sp's collectives.
  const std::string tp4 =
      "plan --model gpt2 --global-batch 64 --gpus 16 --hardware a100-80gb --dp 4 --tp 4 --sp "
      "--zero 1 --micro-batch 4 --recompute none --top 1 --json";
  const test::RunResult plain = parti(tp4),
                        overlapped = parti(tp4 + " --distributed-optimizer --tp-comm-overlap");
  ASSERT_EQ(overlapped.status, 0) << overlapped.output;
  const auto step = [](const test::RunResult& x) {
    return nlohmann::json::parse(x.last_line())[0]["step_time_s"].get<double>();
  };
  EXPECT_LT(step(overlapped), step(plain));
  expect_one_line_error(parti("plan --model gpt2 --global-batch 8 --gpus 2 --hardware a100-80gb "
                              "--loss-kernel fp8"),
                        "--loss-kernel fp8: expected fused, autocast or vocab-parallel");
  // Larger buckets: fewer collectives, each a ring's latency (after backward, none hidden).
  const std::string piped =
      "plan --model gpt2 --global-batch 64 --gpus 8 --hardware a100-80gb --dp 4 --pp 2 --zero 1 "
      "--micro-batch 4 --recompute none --top 1 --json --distributed-optimizer --no-dp-overlap";
  EXPECT_LT(step(parti(piped + " --bucket-mb 200")), step(parti(piped + " --bucket-mb 1")));
  // Megatron-LM's scatter/gather: a stage's tp ranks send pieces across nodes, not it all.
  const std::string stages =
      "plan --model gpt2 --global-batch 16 --gpus 16 --hardware a100-80gb --dp 2 --tp 4 --no-sp "
      "--pp 2 --zero 0 --micro-batch 1 --recompute none --top 1 --json";
  EXPECT_LT(step(parti(stages + " --pp-scatter-gather")), step(parti(stages)));
  // DeepSpeed's blocking sends: each send and receive waits its turn.
  EXPECT_GT(step(parti(stages + " --pp-blocking-sends")), step(parti(stages)));
  // Gradients accumulated by a kernel of their own: a pass over the weights per micro-batch.
  EXPECT_GT(step(parti(stages + " --no-gradient-accumulation-fusion")), step(parti(stages)));
  expect_one_line_error(parti("plan --model gpt2 --global-batch 8 --gpus 2 --hardware a100-80gb "
                              "--bucket-mb 0"),
                        "--bucket-mb 0: expected MiB above 0");
  // A fixed layout that does not fit: the verdicts, then the error.
  r = parti(
      "plan --model gpt2-xl --global-batch 8 --gpus 1 --hardware a100-40gb --zero 0 "
      "--recompute none --micro-batch 8");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.last_line().rfind("parti: error: no layout fits", 0), 0u) << r.output;
}

}  // namespace
}  // namespace parti

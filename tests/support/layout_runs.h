// Runs of `parti train` at some layout against the single-process run (issues #3, #4): per-step
// losses within 1e-5 relative and final parameters (the checkpoint every rank wrote its slices
// of) within 1e-5 relative (norm of the difference over the norm of all parameters, as issue #2
// defines it). Per tensor the bound is 1e-4: tensors that start at zero (biases) have tiny norms
// after 10 steps, so their relative error measures Adam's reaction to rounding noise (seen: up
// to 8e-6); the key slice of c_attn.bias, whose true gradient is zero
// (tests/oracle/gpt_oracle.py), is left out.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run.h"
#include "parti/io/safetensors.h"
#include "support/layouts.h"
#include "support/scratch.h"

namespace parti::test {

namespace fs = std::filesystem;

// This process's scratch folder (tests/support/scratch.h), with `brown` linking to the shared
// prepared Brown.
inline const std::string& work() {
  static const std::string dir = [] {
    fs::create_directory_symlink(shared_brown(), scratch_dir() / "brown");
    return scratch_dir().string();
  }();
  return dir;
}

// A 10-step (by default) run of `preset` on the shared Brown, without where it writes.
inline std::string run_flags(int micro_batch, int steps = 10, const std::string& preset = "tiny") {
  return " train --data " + shared_brown() + " --model " + preset +
         " --seq-len 32 --global-batch 8 --micro-batch " + std::to_string(micro_batch) +
         " --steps " + std::to_string(steps) + " --lr 1e-3 --warmup 2 --eval-batches 0 --threads 1";
}

// run_flags writing checkpoints to work()/name and the JSONL to work()/name.jsonl.
inline std::string train_flags(const std::string& name, int micro_batch, int steps = 10,
                               const std::string& preset = "tiny") {
  return run_flags(micro_batch, steps, preset) + " --ckpt-dir " + work() + "/" + name + " --log " +
         work() + "/" + name + ".jsonl";
}

inline std::vector<double> losses(const std::string& name) {
  std::vector<double> out;
  std::istringstream lines(slurp(work() + "/" + name + ".jsonl"));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line).at("loss"));
  return out;
}

// Every JSONL record of run `name`.
inline std::vector<nlohmann::json> records(const std::string& name) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(slurp(work() + "/" + name + ".jsonl"));
  std::string line;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The first JSONL record of a log file.
inline nlohmann::json first_record(const std::string& log) {
  std::istringstream lines(slurp(log));
  std::string line;
  std::getline(lines, line);
  return nlohmann::json::parse(line);
}

inline io::SafetensorsFile final_params(const std::string& name) {
  return io::read_safetensors(work() + "/" + name + "/step_00000010/model.safetensors");
}

// The single-process run of `flags` (run_flags and model flags), shared by every test of the
// build: run once into test-data/references/<hash of the flags and of the parti binary's time
// stamp> (a rebuilt binary runs it again; the TestData.Brown fixture empties the folder at the
// start of each ctest run) and linked into this process's work() as run `name`.
inline std::string shared_reference(const std::string& name, const std::string& flags) {
  if (fs::exists(work() + "/" + name + ".jsonl")) return name;
  const auto stamp = fs::last_write_time(PARTI_BINARY).time_since_epoch().count();
  const fs::path dir = fs::path(PARTI_TEST_DATA_DIR) / "references" /
                       std::to_string(std::hash<std::string>{}(flags + std::to_string(stamp)));
  fs::path source = dir;
  if (!fs::exists(dir / "run.jsonl")) {
    source = dir.string() + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(source);
    fs::create_directories(source);
    const RunResult r = parti(flags + " --ckpt-dir " + (source / "ckpt").string() + " --log " +
                              (source / "run.jsonl").string());
    EXPECT_EQ(r.status, 0) << r.output;
    std::ofstream(source / "flags.txt") << flags << "\n";
    if (r.status == 0) {
      std::error_code taken;  // another test process got there first with the same run
      fs::rename(source, dir, taken);
      if (taken) fs::remove_all(source);
      source = dir;
    }
  }
  fs::create_directory_symlink(source / "ckpt", work() + "/" + name);
  fs::create_symlink(source / "run.jsonl", work() + "/" + name + ".jsonl");
  return name;
}

inline const std::string& reference() {
  static const std::string name = shared_reference("single", run_flags(8));
  return name;
}

// A single-process reference of another model (`extra`: flags after run_flags).
inline std::string reference_of(const std::string& name, const std::string& extra,
                                const std::string& preset = "tiny") {
  return shared_reference(name, run_flags(8, 10, preset) + " " + extra);
}

inline std::string mpirun(int np) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np " +
         std::to_string(np) + " " + PARTI_BINARY;
}

// Compares run `name` (already done) with the single-process reference (`ref`: another one).
inline void compare(const std::string& name, const std::string& ref_name = "") {
  const std::string& against = ref_name.empty() ? reference() : ref_name;
  const std::vector<double> ref = losses(against), got = losses(name);
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_LE(std::abs(got[i] - ref[i]), 1e-5 * std::abs(ref[i])) << "step " << i + 1;
  }
  const io::SafetensorsFile a = final_params(against), b = final_params(name);
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

// A copy of run `from` (its checkpoints and log) as run `to`, to resume it at another layout.
inline void copy_run(const std::string& from, const std::string& to) {
  fs::remove_all(work() + "/" + to);
  fs::copy(work() + "/" + from, work() + "/" + to, fs::copy_options::recursive);
  fs::copy_file(work() + "/" + from + ".jsonl", work() + "/" + to + ".jsonl",
                fs::copy_options::overwrite_existing);
}

// Run `saved` (the command, without --stop-after) stopped after 5 of its 10 steps, then resumed
// by each of `resumes` (a run name and its command, without --resume) from a copy of it: each
// says so and ends as the single-process run does.
inline void resume_elsewhere(const std::string& saved, const std::string& command,
                             const std::vector<std::pair<std::string, std::string>>& resumes,
                             const std::string& ref = "") {
  auto r = run(command + " --stop-after 5");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& [name, resume] : resumes) {
    copy_run(saved, name);
    r = run(resume + " --resume");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("resumed at step 5"), std::string::npos) << r.output;
    compare(name, ref);
  }
}

// The single-process run a row is held to: the suite's own (GPT-2 tiny), or one of the row's
// family and model flags, run once.
inline std::string reference_for(const LayoutCase& l) {
  if (l.family == "gpt2" && l.model.empty()) {
    return reference();
  }
  std::string name = "single_" + l.family;
  for (char c : l.model) {
    name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return reference_of(name, l.model, l.preset());
}

// Trains a row of the layout matrix (10 steps, `micro_batch`, as run `name`) and holds it to the
// single-process run of its family and model flags.
inline void check_layout(const LayoutCase& l, int micro_batch, const std::string& name) {
  const std::string ref = reference_for(l);
  auto r = run(mpirun(l.ranks()) + train_flags(name, micro_batch, 10, l.preset()) + l.flags() +
               (l.model.empty() ? "" : " " + l.model));
  ASSERT_EQ(r.status, 0) << r.output;
  compare(name, ref);
}
inline void check_layout(const LayoutCase& l) { check_layout(l, l.micro_batch_or_two(), l.name); }

}  // namespace parti::test

#include "parti/train/resume.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "parti/core/check.h"
#include "parti/io/checkpoint.h"
#include "parti/io/safetensors.h"

namespace parti::train {
namespace {

namespace fs = std::filesystem;

bool is_step_folder(const std::string& path) { return fs::exists(path + "/state.json"); }

std::string parent_of(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  const fs::path parent = (p.has_filename() ? p : p.parent_path()).parent_path();
  return parent.empty() ? "." : parent.string();
}

// The whole checkpoint read and checked, as a resume would load it.
SavedRun read_good(const std::string& step_dir) {
  SavedRun run = read_saved_run(step_dir);
  io::SafetensorsReader(step_dir + "/model.safetensors").verify();
  io::SafetensorsReader(step_dir + "/optim.safetensors").verify();
  return run;
}

// Complete step folders of `ckpt_dir` to try, newest first: `latest`'s, then older ones. A
// `latest` that leaves the folder is refused (it is not a damaged file but a wrong one).
std::vector<std::string> candidates(const std::string& ckpt_dir) {
  std::vector<std::string> steps = io::complete_checkpoints(ckpt_dir);
  std::string latest;
  std::ifstream(ckpt_dir + "/latest") >> latest;
  if (!latest.empty()) {
    PARTI_CHECK(latest.find('/') == std::string::npos && latest != "." && latest != "..",
                CheckpointError, ckpt_dir, "/latest names '", latest, "': a step folder inside ",
                ckpt_dir, " was expected");
    // Folders after `latest` are from a run resumed from an older step: not this run's newest.
    steps.erase(std::upper_bound(steps.begin(), steps.end(), latest), steps.end());
    if (steps.empty() || steps.back() != latest) steps.push_back(latest);
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
}

}  // namespace

void resolve_checkpoint_flags(IoConfig& io) {
  PARTI_CHECK(
      !(io.resume && io.overwrite), ConfigError,
      "--resume continues the run in --ckpt-dir and --overwrite replaces it: one of the two");
  if (io.resume && !io.resume_from.empty()) {
    if (io.ckpt_dir.empty()) {
      io.ckpt_dir = is_step_folder(io.resume_from) ? parent_of(io.resume_from) : io.resume_from;
    }
    PARTI_CHECK(is_step_folder(io.resume_from) || fs::exists(io.resume_from + "/latest") ||
                    !io::complete_checkpoints(io.resume_from).empty(),
                CheckpointError, "--resume ", io.resume_from,
                ": no checkpoint here (neither a step folder with state.json nor a checkpoint "
                "folder)");
  }
  // A new run's log starts empty: it never mixes with an earlier run's records (a device such as
  // /dev/null, or an empty file, is fine).
  PARTI_CHECK(io.log.empty() || io.resume || io.overwrite || !fs::is_regular_file(io.log) ||
                  fs::is_empty(io.log),
              ConfigError, "--log ", io.log,
              " already holds an earlier run's records: give another --log, pass --resume to "
              "continue that run, or --overwrite to start over (the file is replaced)");
  if (io.ckpt_dir.empty()) return;
  PARTI_CHECK(!is_step_folder(io.ckpt_dir), ConfigError, "--ckpt-dir ", io.ckpt_dir,
              " is a step folder (it holds state.json): new checkpoints would nest inside it. To "
              "continue from it pass --resume ",
              io.ckpt_dir, " (new checkpoints go beside it), or --ckpt-dir ",
              parent_of(io.ckpt_dir), " --resume");
  PARTI_CHECK(io.resume || io.overwrite || !io::holds_checkpoints(io.ckpt_dir), ConfigError,
              "--ckpt-dir ", io.ckpt_dir,
              " already holds checkpoints of a run: pass --resume to continue it, --overwrite to "
              "start over (its checkpoints are removed), or another --ckpt-dir");
}

ResumePoint find_resume_point(const IoConfig& io) {
  const std::string& from = io.resume_from.empty() ? io.ckpt_dir : io.resume_from;
  if (is_step_folder(from)) {
    return {read_good(from), {}};
  }
  ResumePoint point;
  std::string reasons;
  for (const std::string& name : candidates(from)) {
    const std::string dir = from + "/" + name;
    try {
      PARTI_CHECK(is_step_folder(dir), CheckpointError, dir, ": not a complete checkpoint");
      point.run = read_good(dir);
      return point;
    } catch (const Error& e) {
      point.skipped.push_back(e.what());
      reasons += (reasons.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw CheckpointError(reasons.empty()
                            ? str_cat(from, ": no checkpoint here (neither state.json nor latest)")
                            : str_cat(from, ": no good checkpoint to resume: ", reasons));
}

const std::vector<std::string>& trajectory_flags() {
  static const std::vector<std::string> flags = {"data",
                                                 "seed",
                                                 "global-batch",
                                                 "steps",
                                                 "lr",
                                                 "min-lr",
                                                 "warmup",
                                                 "weight-decay",
                                                 "beta1",
                                                 "beta2",
                                                 "eps",
                                                 "grad-clip",
                                                 "skip-spikes",
                                                 "grad-compress",
                                                 "powersgd-rank",
                                                 "powersgd-start-step",
                                                 "batch-ramp",
                                                 "adaptive-batch",
                                                 "train-tokens",
                                                 "warmup-tokens",
                                                 "lr-batch-scaling"};
  return flags;
}

void check_resumed_flags(const nlohmann::json& saved, const nlohmann::json& now,
                         const std::vector<std::string>& allowed) {
  const std::vector<std::string>& flags = trajectory_flags();
  for (const std::string& flag : allowed) {
    if (std::find(flags.begin(), flags.end(), flag) != flags.end()) continue;
    std::string all;
    for (const std::string& f : flags) all += (all.empty() ? "" : ", ") + f;
    throw ConfigError(str_cat("--allow-changes: ", flag,
                              " is not a training flag a resume compares (those are ", all,
                              "; the layout may change without it)"));
  }
  std::string changed;
  for (const std::string& flag : flags) {
    std::string key = flag;
    std::replace(key.begin(), key.end(), '-', '_');
    if (!saved.contains(key) || !now.contains(key) || saved.at(key) == now.at(key)) continue;
    if (std::find(allowed.begin(), allowed.end(), flag) != allowed.end()) continue;
    changed += str_cat(changed.empty() ? "" : ", ", "--", flag, " ", now.at(key).dump(),
                       " (the checkpoint's: ", saved.at(key).dump(), ")");
  }
  PARTI_CHECK(changed.empty(), ConfigError, "--resume with changed training flags: ", changed,
              ". Resume with the checkpoint's values, or name the flags in --allow-changes to "
              "change them on purpose (the run then differs from an uninterrupted one)");
}

}  // namespace parti::train

// A run and its checkpoint folder (issue #20): what a new run may write into, which checkpoint a
// resumed run starts from, and which flags a resumed run may change. Each rule used to fail
// silently: a new run replaced a folder's checkpoints and moved `latest`, `--ckpt-dir` naming a
// step folder nested new checkpoints inside it, a damaged newest checkpoint ended the run although
// an older one was good, and a changed --lr or --seed resumed another training run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/train/config.h"
#include "parti/train/saved_run.h"

namespace parti::train {

// --resume [PATH], --ckpt-dir and --overwrite, resolved and checked (ConfigError naming the flag):
// - --resume PATH, PATH a step folder: resume that step; new checkpoints go beside it unless
//   --ckpt-dir names another folder. PATH a checkpoint folder: as --ckpt-dir PATH --resume.
// - a --ckpt-dir that is itself a step folder is refused (new steps would nest inside it);
// - without --resume, a --ckpt-dir holding checkpoints is refused unless --overwrite.
void resolve_checkpoint_flags(IoConfig& io);

struct ResumePoint {
  SavedRun run;
  std::vector<std::string> skipped;  // newer checkpoints passed over, each with its reason
};

// The checkpoint a resumed run starts from. A step folder named by --resume PATH is used as
// named (damaged: an error). Otherwise the newest good one of the checkpoint folder: the one
// `latest` names, then each older complete one. Good: state.json passes read_saved_run and both
// safetensors files verify (sizes, offsets, checksums). Throws CheckpointError with every reason
// when none is good.
ResumePoint find_resume_point(const IoConfig& io);

// The checkpoint's flags that set the training trajectory (data, seed, batch, steps, optimizer,
// guard, compression), as flag names ("lr", "global-batch", ...).
const std::vector<std::string>& trajectory_flags();

// Refuses (ConfigError) resuming with trajectory flags other than the checkpoint's, naming each
// with both values, unless `allowed` names it. `saved` and `now` are to_json() forms (fields a
// checkpoint from before a flag lacks are not compared). The layout may change freely: every
// layout trains the same model.
void check_resumed_flags(const nlohmann::json& saved, const nlohmann::json& now,
                         const std::vector<std::string>& allowed);

}  // namespace parti::train

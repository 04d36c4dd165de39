// Checkpoints: a folder per step, readable by other tools.
//   <ckpt-dir>/step_00000010/model.safetensors   logical fp32 parameters, Hugging Face GPT-2 names
//                                                (wte without its padding rows)
//                           /optim.safetensors   AdamW moments: "<name>.exp_avg",
//                           "<name>.exp_avg_sq" /state.json          step, resolved config, data
//                           position, checksums
//   <ckpt-dir>/latest                            name of the newest complete step folder
// A step folder is written as step_XXXXXXXX.tmp, every file flushed to disk, then renamed; `latest`
// likewise. A crash leaves at worst a .tmp folder, never a half-written checkpoint under its name.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "parti/model/param_table.h"

namespace parti::io {

struct CheckpointBuffers {
  const model::ParamTable& table;
  float* params;  // (table.total())
  float* m;       // may be null (inference)
  float* v;       // may be null
};

// Returns the new step folder.
std::string save_checkpoint(const std::string& ckpt_dir, int64_t step,
                            const CheckpointBuffers& buffers, const nlohmann::json& state);

// PATH is a step folder, or a checkpoint folder holding `latest`. Returns the step folder.
// Throws CheckpointError when there is none.
std::string resolve_checkpoint(const std::string& path);

// state.json of a step folder.
nlohmann::json read_checkpoint_state(const std::string& step_dir);

// Fills the buffers from a step folder; every parameter of the table must be present with its
// logical shape. Throws CheckpointError (missing, truncated, corrupted, mismatched).
void load_checkpoint(const std::string& step_dir, const CheckpointBuffers& buffers);

}  // namespace parti::io

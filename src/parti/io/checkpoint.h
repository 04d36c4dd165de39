// Checkpoints: a folder per step, readable by other tools.
//   <ckpt-dir>/step_00000010/model.safetensors   logical fp32 parameters, the family's Hugging
//                                                Face names (vocabularies without padding rows)
//                           /optim.safetensors   AdamW moments: "<name>.exp_avg",
//                                                "<name>.exp_avg_sq"
//                           /state.json          step, resolved config, data position, checksums
//                           /config.json         Hugging Face's config of the model (the state's
//                                                "hf_config", moved out of state.json)
//   <ckpt-dir>/latest                            name of the newest complete step folder
// A step folder is written as step_XXXXXXXX.tmp, every file flushed to disk, then renamed; `latest`
// likewise. A crash leaves at worst a .tmp folder, never a half-written checkpoint under its name.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/io/safetensors.h"
#include "parti/model/param_table.h"

namespace parti::io {

struct CheckpointBuffers {
  const model::ParamTable& table;
  float* params;  // (table.total())
  float* m;       // may be null (inference)
  float* v;       // may be null
};

// One process: the whole model from full flat buffers. Returns the new step folder.
std::string save_checkpoint(const std::string& ckpt_dir, int64_t step,
                            const CheckpointBuffers& buffers, const nlohmann::json& state);

// Several processes, none holding the whole model: each owns slices of the flat buffers (a flat
// range with its parameters and moments, element i of the range at params[i]). In order:
//   1. one process:   begin_checkpoint   creates the .tmp folder and the sized files
//   2. every process: write_checkpoint_slices, its own slices (then flushes them)
//   3. one process:   finish_checkpoint  checksums, state.json, rename, `latest`
// The files equal those save_checkpoint writes for the same values.
struct CheckpointSlice {
  size_t begin;  // flat offset
  size_t count;
  float* params;  // may be null (moments only)
  float* m;       // may be null (no optimizer state)
  float* v;
};
void begin_checkpoint(const std::string& ckpt_dir, int64_t step, const model::ParamTable& table,
                      bool with_optim);
// `table` maps the slices' flat offsets to tensors; `file_table` is the one begin_checkpoint got
// (null: `table`), the whole model's when `table` holds a pipeline stage's part of it.
void write_checkpoint_slices(const std::string& ckpt_dir, int64_t step,
                             const model::ParamTable& table,
                             const std::vector<CheckpointSlice>& slices,
                             const model::ParamTable* file_table = nullptr);
std::string finish_checkpoint(const std::string& ckpt_dir, int64_t step,
                              const nlohmann::json& state);
// The folder a step is written into between begin_checkpoint and finish_checkpoint (files other
// than the model's and the optimizer's, e.g. each rank's gradient-compression state, go there).
std::string checkpoint_tmp_dir(const std::string& ckpt_dir, int64_t step);

// After a save (one process): removes complete step folders beyond the newest `keep_last`
// (0: none), never the one `latest` names, and the `.tmp` folders of unfinished saves that a
// killed run left. Returns the folders removed.
std::vector<std::string> prune_checkpoints(const std::string& ckpt_dir, int keep_last);

// The complete step folders of a checkpoint folder (those holding state.json), oldest first;
// none when the folder does not exist.
std::vector<std::string> complete_checkpoints(const std::string& ckpt_dir);
// Whether the folder holds a run's checkpoints: `latest` or a complete step folder (the .tmp
// folder of a killed save is not one).
bool holds_checkpoints(const std::string& ckpt_dir);
// Removes `latest` and every step folder (train --overwrite). Returns how many step folders.
int remove_checkpoints(const std::string& ckpt_dir);

// PATH is a step folder, or a checkpoint folder holding `latest`. Returns the step folder.
// Throws CheckpointError when there is none.
std::string resolve_checkpoint(const std::string& path);

// state.json of a step folder.
nlohmann::json read_checkpoint_state(const std::string& step_dir);

// Fills the buffers from a step folder; every parameter of the table must be present with its
// logical shape. Throws CheckpointError (missing, truncated, corrupted, mismatched).
void load_checkpoint(const std::string& step_dir, const CheckpointBuffers& buffers);
// The same for slices only (the rest of the file is checksummed, never held); elements of a
// slice that no parameter's logical data covers (alignment gaps, padding rows) become 0.
void load_checkpoint_slices(const std::string& step_dir, const model::ParamTable& table,
                            const std::vector<CheckpointSlice>& slices);
// The parameters of the slices (m and v untouched) from an open model file: a step folder's, or
// a Hugging Face folder's (train --init-from; its names stripped of the family's prefix). Tensors
// of the file the table does not name (GPT-2's attn.bias buffers, a tied lm_head) are ignored.
void load_param_slices(const SafetensorsReader& model, const model::ParamTable& table,
                       const std::vector<CheckpointSlice>& slices);

}  // namespace parti::io

// A checkpoint's state.json, checked before anything is built from it (issue #18): a hand-edited
// or damaged state.json used to crash eval (`heads: 0`), silently run another model (`heads: 3`,
// a `layers` that disagrees with the tensors), hang in set-up (`layers: 1e8`) or train at a
// negative step. Every field the loaders use is read with its type, the model passes
// model::validate, the step counts are in range, and the model's parameter count must equal what
// model.safetensors holds, all before a model is allocated; errors name the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "parti/model/config.h"

namespace parti::train {

struct SavedRun {
  std::string dir;  // the step folder
  nlohmann::json state;
  model::ModelConfig model;
  int64_t step = 0;        // steps done
  int optimizer_step = 0;  // updates applied (skipped steps are not)
  std::string tokenizer;   // of the training data
};

// `step_dir`: a step folder (io::resolve_checkpoint's answer). Throws CheckpointError.
SavedRun read_saved_run(const std::string& step_dir);

}  // namespace parti::train

// libFuzzer target: a checkpoint's state.json beside a fixed, valid model.safetensors (the `tiny`
// preset's parameter count). read_saved_run must accept it only with a valid model and steps,
// or throw CheckpointError naming state.json; the step guard's record likewise.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "parti/core/check.h"
#include "parti/io/safetensors.h"
#include "parti/model/config.h"
#include "parti/train/guard.h"
#include "parti/train/saved_run.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto params =
      static_cast<size_t>(parti::model::parameter_count(parti::model::preset("tiny")));
  const std::vector<float> zeros(params, 0.0f);
  parti::io::write_safetensors(parti::fuzz::scratch() + "/model.safetensors",
                               {{"all", {static_cast<int64_t>(params)}, zeros.data()}}, {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parti::fuzz::write_input("state.json", data, size);
  try {
    const parti::train::SavedRun run = parti::train::read_saved_run(parti::fuzz::scratch());
    parti::fuzz::require(parti::model::validate(run.model).empty());
    parti::fuzz::require(0 <= run.optimizer_step && run.optimizer_step <= run.step);
    if (run.state.contains("guard")) {
      parti::train::StepGuard guard(parti::train::GuardConfig{});
      guard.from_json(run.state.at("guard"));
    }
  } catch (const parti::CheckpointError&) {
  }
  return 0;
}

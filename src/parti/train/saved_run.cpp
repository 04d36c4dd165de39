#include "parti/train/saved_run.h"

#include "parti/core/check.h"
#include "parti/core/json.h"
#include "parti/io/checkpoint.h"
#include "parti/io/safetensors.h"
#include "parti/train/config.h"

namespace parti::train {

SavedRun read_saved_run(const std::string& step_dir) {
  SavedRun run;
  run.dir = step_dir;
  const std::string file = step_dir + "/state.json";
  run.state = io::read_checkpoint_state(step_dir);
  try {
    const nlohmann::json& config = run.state.at("config");
    run.model = model_from_json(config.at("model"));
    run.step = json_int<int64_t>(run.state.at("step"));
    run.optimizer_step = json_int<int>(run.state.at("optimizer_step"));
    run.tokenizer = config.value("tokenizer", std::string("gpt2"));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(str_cat(file, ": ", e.what()));
  } catch (const Error& e) {
    throw CheckpointError(str_cat(file, ": ", e.what()));
  }
  const std::vector<std::string> errors = model::validate(run.model);
  if (!errors.empty()) {
    std::string all = errors[0];
    for (size_t i = 1; i < errors.size(); ++i) all += "; " + errors[i];
    throw CheckpointError(str_cat(file, ": the model it describes is not valid: ", all));
  }
  PARTI_CHECK(run.step >= 0 && run.optimizer_step >= 0 && run.optimizer_step <= run.step,
              CheckpointError, file, ": step ", run.step, " and optimizer_step ",
              run.optimizer_step, " need 0 <= optimizer_step <= step");
  const std::string weights = step_dir + "/model.safetensors";
  const io::SafetensorsReader reader(weights);
  const auto params = static_cast<size_t>(model::parameter_count(run.model));
  PARTI_CHECK(reader.data_bytes() == params * sizeof(float), CheckpointError, file, ": its model (",
              model_to_json(run.model).dump(), ") has ", params, " parameters, but ", weights,
              " holds ", reader.data_bytes() / sizeof(float));
  return run;
}

}  // namespace parti::train

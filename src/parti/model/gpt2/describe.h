// GPT-2 as other tools see it. hf_config: Hugging Face's GPT2Config, the config.json beside a
// checkpoint's model.safetensors (GPT-2's names without the `transformer.` prefix, Conv1D
// (in, out) layouts, fp32), which GPT2LMHeadModel reads. from_hf_config: the way back, refusing
// what Parti's GPT-2 does not compute (another activation, MLP width or LayerNorm epsilon).
// footprint: the planner's view.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "parti/model/config.h"
#include "parti/model/footprint.h"

namespace parti::model::gpt2 {

nlohmann::json hf_config(const ModelConfig& cfg);

// `c`: a GPT2Config's fields; `file` names it in errors (ConfigError).
ModelConfig from_hf_config(const nlohmann::json& c, const std::string& file);

// The planner's view of the family's shapes (model/footprint.h).
Footprint footprint(const ModelConfig& cfg);

}  // namespace parti::model::gpt2

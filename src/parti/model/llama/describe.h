// Llama as other tools see it. hf_config: Hugging Face's LlamaConfig (keys sorted, as Hugging
// Face writes them), the config.json beside a checkpoint's model.safetensors, whose names and
// layouts are LlamaForCausalLM's, so that the step folder is a Hugging Face model folder (fp32).
// from_hf_config: the way back, refusing what Parti's Llama does not compute (RoPE scaling,
// biases, another activation or head size). footprint: the planner's view.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "parti/model/config.h"
#include "parti/model/footprint.h"

namespace parti::model::llama {

nlohmann::json hf_config(const ModelConfig& cfg);

// `c`: a LlamaConfig's fields; `file` names it in errors (ConfigError).
ModelConfig from_hf_config(const nlohmann::json& c, const std::string& file);

// The planner's view of the family's shapes (model/footprint.h).
Footprint footprint(const ModelConfig& cfg);

}  // namespace parti::model::llama

// Hugging Face's LlamaConfig for a Llama shape (keys sorted, as Hugging Face writes them): the
// config.json beside a checkpoint's model.safetensors, whose names and layouts are
// LlamaForCausalLM's, so that the step folder is a Hugging Face model folder (fp32).
#pragma once

#include <nlohmann/json.hpp>

#include "parti/model/config.h"

namespace parti::model::llama {

nlohmann::json hf_config(const ModelConfig& cfg);

}  // namespace parti::model::llama

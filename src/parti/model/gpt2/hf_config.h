// Hugging Face's GPT2Config for a GPT-2 shape: the config.json beside a checkpoint's
// model.safetensors (GPT-2's names without the `transformer.` prefix, Conv1D (in, out) layouts,
// fp32), which GPT2LMHeadModel reads.
#pragma once

#include <nlohmann/json.hpp>

#include "parti/model/config.h"

namespace parti::model::gpt2 {

nlohmann::json hf_config(const ModelConfig& cfg);

}  // namespace parti::model::gpt2

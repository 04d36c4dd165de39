// The model registry: a family's name (ModelConfig::family, "gpt2") -> its factory and its
// descriptions (Hugging Face's config and names, the planner's footprint). The trainer,
// checkpoints, evaluation and generation build models only through make_model; adding a family
// is its folder under model/ plus its lines in registry.cpp (the factory and the table).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parti/model/footprint.h"
#include "parti/model/model.h"

namespace parti::model {

// A model of cfg.family for tensor-parallel rank `tp`, holding `chunks` (empty: the whole model).
// Throws ConfigError naming the family when none is registered under it.
template <typename T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, TpRank tp = {},
                                     std::vector<Chunk> chunks = {});

// Hugging Face's config.json for cfg (its family's *Config fields), written beside checkpoints.
nlohmann::json hf_config(const ModelConfig& cfg);

// A Hugging Face model folder's config.json as a ModelConfig: its model_type names the family,
// whose reader refuses what Parti does not compute. Throws ConfigError naming `file`.
ModelConfig from_hf_config(const nlohmann::json& config, const std::string& file);

// What a family's Hugging Face tensor names may carry before Parti's (GPT-2: "transformer.",
// GPT2LMHeadModel's), stripped on import; "" for none.
std::string hf_name_prefix(const ModelConfig& cfg);

// The planner's view of cfg's family (footprint.h).
Footprint footprint(const ModelConfig& cfg);

// The registered families' names.
std::vector<std::string> family_names();

}  // namespace parti::model

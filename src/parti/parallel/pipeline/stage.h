// How the layers are cut into the pipeline's chunks (P stages x V virtual stages = P V chunks,
// chunk c on stage c mod P): chunk 0 also runs the embedding lookup, the last chunk also the
// final norm, the tied output projection and the loss.
//
// By default the split balances estimated compute (PaLM's training FLOPs per token, as the MFU
// figure counts them): a block costs 6 (12 C^2 + 13 C) + 12 C T, the output projection
// 6 C Vp; the embedding lookup counts nothing. Among the splits with every chunk holding at
// least one block, the one whose costliest chunk is cheapest (ties: the earlier chunks
// heavier, so the last chunk, which also holds the logits, gets fewer blocks).
#pragma once

#include <string>
#include <vector>

#include "parti/model/config.h"

namespace parti::parallel::pipeline {

// Blocks per chunk, `chunks` entries summing to cfg.layers. `explicit_split` (--pp-layers), when
// not empty, is checked and returned: ConfigError naming the flag when its length is not
// `chunks`, an entry is below 1, or the sum is not the layer count.
std::vector<int> split_layers(const model::ModelConfig& cfg, int chunks,
                              const std::vector<int>& explicit_split = {});
// What split_layers would refuse, as its message ("" when none).
std::string split_error(int layers, int chunks, const std::vector<int>& explicit_split);

// Estimated training FLOPs per token of each chunk under that split.
std::vector<double> chunk_costs(const model::ModelConfig& cfg, const std::vector<int>& split);

}  // namespace parti::parallel::pipeline

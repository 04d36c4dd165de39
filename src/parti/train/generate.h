// Sampling from a trained model: each new token is drawn from the last position's logits,
// divided by the temperature and restricted to the top k (k <= 0: all); temperature 0 picks the
// most likely token. The draw for new token i uses uniform(seed, "generate", i): the same seed
// gives the same text. The context is the last seq_len tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "parti/core/arena.h"
#include "parti/model/model.h"

namespace parti::train {

struct SampleOptions {
  int max_tokens = 64;
  double temperature = 1.0;
  int top_k = 0;
  uint64_t seed = 1;
  int32_t stop_token = -1;  // stop after emitting it (-1: never)
};

std::vector<int32_t> generate(model::Model<float>& model, float* params, core::Arena& arena,
                              std::vector<int32_t> prompt, const SampleOptions& options);

}  // namespace parti::train

// Sampling from a trained model (issue #23). Each new token is drawn from the last position's
// logits divided by the temperature, restricted to the top k (k <= 0: all), then to the smallest
// set of likeliest tokens whose probability reaches top_p (nucleus sampling; 1: all); temperature
// 0 picks the most likely token. The draw for new token i uses uniform(seed, "generate", i): the
// same seed gives the same text.
//
// The context window: the model sees at most seq_len tokens. When the next token would not fit,
// the context keeps its last seq_len / 2 tokens, which become positions 0 .. seq_len / 2 - 1
// (a context shift, as llama.cpp does; absolute position embeddings leave no cheaper way). With
// the key/value cache (options.cache, the default) the prompt runs once, each new token costs
// one position, and a shift runs the kept half once; without it every token reruns the whole
// context. Both see the same context at every step, so greedy output is the same token for token.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "parti/core/arena.h"
#include "parti/model/model.h"

namespace parti::train {

struct SampleOptions {
  int max_tokens = 64;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 1;
  int32_t stop_token = -1;  // stop after emitting it (-1: never)
  bool cache = true;        // the key/value cache (false: rerun the context for every token)
};

// Called with each new token as soon as it is drawn (streaming).
using TokenFn = std::function<void(int32_t)>;

// The new tokens after `prompt` (at least one token).
std::vector<int32_t> generate(model::Model<float>& model, float* params, core::Arena& arena,
                              std::vector<int32_t> prompt, const SampleOptions& options,
                              const TokenFn& on_token = {});

}  // namespace parti::train

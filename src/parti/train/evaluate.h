// Loss of a model over consecutive non-overlapping windows of a token file (no gradients).
#pragma once

#include <cstdint>
#include <vector>

#include "parti/core/arena.h"
#include "parti/data/blend.h"
#include "parti/model/model.h"

namespace parti::train {

struct EvalResult {
  double loss = 0.0;      // mean over tokens
  double loss_sum = 0.0;  // sum over tokens
  int64_t tokens = 0;
  int64_t windows = 0;
};

// Windows [first, first + max_windows) (to the last whole window when max_windows <= 0),
// micro_batch at a time. With hooks (ZeRO-3), params may be null: the hooks provide each unit.
// `tp`: the tensor-parallel context of a model built for tp > 1 (every rank of it evaluates).
// `cp` (with the rank's token `positions`, parallel/context/chunks.h): the context-parallel
// context; each of its ranks evaluates its chunks of every window, and the sums and token counts
// are this rank's (the caller adds them over cp).
struct EvalParallel {
  model::UnitHooks<float>* hooks = nullptr;
  const parallel::tensor::TensorParallel* tp = nullptr;
  core::Arena* workspace = nullptr;
  const parallel::context::ContextParallel* cp = nullptr;
  const std::vector<int32_t>* positions = nullptr;
};
EvalResult evaluate_windows(model::Model<float>& model, float* params, core::Arena& arena,
                            const data::Blend& tokens, int64_t max_windows, int micro_batch,
                            int64_t first = 0, const EvalParallel& parallel = {});

}  // namespace parti::train

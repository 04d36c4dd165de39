// What the planner's tests build their cases from: a layout of the trainer's and a profile with
// ideal links.
#pragma once

#include <string>

#include "parti/plan/search.h"

namespace parti::plan::test {

inline Layout layout(int dp, int tp, int pp, int mb, const std::string& schedule = "1f1b",
                     int V = 1) {
  return {.dp = dp,
          .tp = tp,
          .pp = pp,
          .cp = 1,
          .sp = false,
          .zero = 0,
          .micro_batch = mb,
          .virtual_stages = V,
          .schedule = schedule,
          .recompute = "none",
          .pp_layers = {}};
}

// Ideal links and no slow-down: what remains is compute.
inline Hardware ideal() {
  Hardware h = load_hardware("a100-80gb");
  h.intra = h.inter = {1e9, 0.0};
  h.overlap = 1.0;
  h.overlap_memory_accesses = 0;
  return h;
}

}  // namespace parti::plan::test

// Interleaved 1F1B (Megatron, Narayanan et al. 2021): stage r holds chunks r, r + P, ...,
// r + (V - 1) P. Its k-th forward is micro-batch (k / (P V)) P + k mod P of its chunk
// (k / P) mod V: groups of P micro-batches go through one chunk before the next. Backwards run
// the same order over the chunks reversed. Warm-up: 2 (P - r - 1) + (V - 1) P forwards, then
// one forward, one backward, ...; needs M to be a multiple of P.
#include <algorithm>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

Schedule make_interleaved(int stages, int micro_batches, int virtual_stages) {
  PARTI_ASSERT(stages >= 2 && virtual_stages >= 2 && micro_batches % stages == 0,
               "interleaved over ", stages, " stages, ", virtual_stages, " virtual stages and ",
               micro_batches, " micro-batches");
  const int P = stages, V = virtual_stages;
  Schedule s{"interleaved", P, micro_batches, P * V, {}};
  s.per_rank.resize(static_cast<size_t>(P));
  const int total = micro_batches * V;
  auto micro_of = [&](int k) { return k / (P * V) * P + k % P; };
  for (int r = 0; r < P; ++r) {
    auto& list = s.per_rank[static_cast<size_t>(r)];
    auto forward = [&](int k) { list.push_back({Op::forward, (k / P % V) * P + r, micro_of(k)}); };
    auto backward = [&](int k) {
      list.push_back({Op::backward, (V - 1 - k / P % V) * P + r, micro_of(k)});
    };
    const int warmup = std::min(2 * (P - r - 1) + (V - 1) * P, total);
    int f = 0, b = 0;
    for (; f < warmup; ++f) {
      forward(f);
    }
    while (f < total) {
      forward(f++);
      backward(b++);
    }
    while (b < total) {
      backward(b++);
    }
  }
  return s;
}

}  // namespace parti::parallel::pipeline

// 1F1B (PipeDream-Flush): stage s first runs min(P - s - 1, M) forwards (warm-up), then
// alternates one forward and one backward, then runs the remaining backwards (cool-down), so
// at most P - s micro-batches are in flight on stage s.
#include <algorithm>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

Schedule make_1f1b(int stages, int micro_batches) {
  PARTI_ASSERT(stages >= 1 && micro_batches >= 1, "1f1b over ", stages, " stages and ",
               micro_batches, " micro-batches");
  Schedule s{"1f1b", stages, micro_batches, stages, {}};
  s.per_rank.resize(static_cast<size_t>(stages));
  for (int r = 0; r < stages; ++r) {
    auto& list = s.per_rank[static_cast<size_t>(r)];
    const int warmup = std::min(stages - r - 1, micro_batches);
    int next_forward = 0, next_backward = 0;
    for (; next_forward < warmup; ++next_forward) {
      list.push_back({Op::forward, r, next_forward});
    }
    while (next_forward < micro_batches) {
      list.push_back({Op::forward, r, next_forward++});
      list.push_back({Op::backward, r, next_backward++});
    }
    while (next_backward < micro_batches) {
      list.push_back({Op::backward, r, next_backward++});
    }
  }
  return s;
}

}  // namespace parti::parallel::pipeline

// GPipe: every stage runs all M forwards, then all M backwards (in the same micro-batch order).
#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

Schedule make_gpipe(int stages, int micro_batches) {
  PARTI_ASSERT(stages >= 1 && micro_batches >= 1, "gpipe over ", stages, " stages and ",
               micro_batches, " micro-batches");
  Schedule s{"gpipe", stages, micro_batches, stages, {}};
  s.per_rank.resize(static_cast<size_t>(stages));
  for (int r = 0; r < stages; ++r) {
    auto& list = s.per_rank[static_cast<size_t>(r)];
    for (int m = 0; m < micro_batches; ++m) {
      list.push_back({Op::forward, r, m});
    }
    for (int m = 0; m < micro_batches; ++m) {
      list.push_back({Op::backward, r, m});
    }
  }
  return s;
}

}  // namespace parti::parallel::pipeline

// ZB-H1 (Qi et al. 2023, "Zero Bubble Pipeline Parallelism"): 1F1B's order of forwards and
// input-gradient backwards (I), with each weight gradient (W) taken out of the critical path.
// The order is found by simulating unit costs (F = I = W = 1): a free stage runs its next
// forward or I when its input has arrived, else a pending W (filling what would be a bubble);
// a W is forced first when the stage already holds as many micro-batches as 1F1B would
// (min(P - s, M): activations live until their W), so memory stays 1F1B's.
#include <algorithm>
#include <deque>
#include <limits>

#include "parti/core/check.h"
#include "parti/parallel/pipeline/schedule.h"

namespace parti::parallel::pipeline {

Schedule make_zb_h1(int stages, int micro_batches) {
  PARTI_ASSERT(stages >= 1 && micro_batches >= 1, "zb over ", stages, " stages and ", micro_batches,
               " micro-batches");
  const int P = stages, M = micro_batches;
  // 1F1B's order with I for B.
  Schedule order = make_1f1b(P, M);
  constexpr long kNever = std::numeric_limits<long>::max();
  // done[s][m]: when stage s finished micro-batch m's forward (0) and I (1).
  std::vector<std::vector<long>> forward_done(static_cast<size_t>(P),
                                              std::vector<long>(static_cast<size_t>(M), kNever));
  auto input_done = forward_done;
  Schedule s{"zb", P, M, P, {}};
  s.per_rank.resize(static_cast<size_t>(P));
  std::vector<size_t> next(static_cast<size_t>(P), 0);
  std::vector<std::deque<int>> pending_w(static_cast<size_t>(P));
  std::vector<int> in_flight(static_cast<size_t>(P), 0);
  auto finished = [&] {
    for (int r = 0; r < P; ++r) {
      const auto ur = static_cast<size_t>(r);
      if (next[ur] < order.per_rank[ur].size() || !pending_w[ur].empty()) {
        return false;
      }
    }
    return true;
  };
  for (long t = 0; !finished(); ++t) {
    for (int r = 0; r < P; ++r) {
      const auto ur = static_cast<size_t>(r);
      auto& list = s.per_rank[ur];
      const int limit = std::min(P - r, M);
      auto run_w = [&] {
        const int m = pending_w[ur].front();
        pending_w[ur].pop_front();
        list.push_back({Op::backward_weight, r, m});
        --in_flight[ur];
      };
      if (in_flight[ur] >= limit && !pending_w[ur].empty()) {
        run_w();  // memory cap: free a micro-batch before taking another
        continue;
      }
      if (next[ur] < order.per_rank[ur].size()) {
        const Instruction in = order.per_rank[ur][next[ur]];
        const auto um = static_cast<size_t>(in.micro_batch);
        const bool is_forward = in.op == Op::forward;
        const bool ready = is_forward ? (r == 0 || forward_done[ur - 1][um] <= t)
                                      : (r == P - 1 || input_done[ur + 1][um] <= t);
        if (ready && (!is_forward || in_flight[ur] < limit)) {
          if (is_forward) {
            list.push_back({Op::forward, r, in.micro_batch});
            forward_done[ur][um] = t + 1;
            ++in_flight[ur];
          } else {
            list.push_back({Op::backward_input, r, in.micro_batch});
            input_done[ur][um] = t + 1;
            pending_w[ur].push_back(in.micro_batch);
          }
          ++next[ur];
          continue;
        }
      }
      if (!pending_w[ur].empty()) {
        run_w();  // a bubble filled
      }
    }
  }
  return s;
}

}  // namespace parti::parallel::pipeline

#include "parti/train/evaluate.h"

#include <algorithm>
#include <vector>

#include "parti/core/check.h"
#include "parti/data/sampler.h"
#include "parti/parallel/context/chunks.h"

namespace parti::train {

EvalResult evaluate_windows(model::Model<float>& model, float* params, core::Arena& arena,
                            const data::Blend& tokens, int64_t max_windows, int micro_batch,
                            int64_t first_window, const EvalParallel& parallel) {
  const int T = model.config().seq_len;
  int64_t windows = data::window_count(tokens, T);
  PARTI_CHECK(windows > 0, DataError, tokens.splits[0].where(), " holds ", tokens.splits[0].size(),
              " tokens, less than one window of seq-len + 1 = ", T + 1);
  const int64_t end = max_windows > 0 ? std::min(windows, first_window + max_windows) : windows;
  if (first_window >= end) {
    return {0.0, 0.0, 0, 0};
  }
  std::vector<int32_t> inputs(static_cast<size_t>(micro_batch) * static_cast<size_t>(T));
  std::vector<int32_t> targets(inputs.size());
  const bool cp = parallel.cp != nullptr;
  const int Tl = cp ? static_cast<int>(parallel.positions->size()) : T;
  std::vector<int32_t> local_inputs(cp ? static_cast<size_t>(micro_batch) * static_cast<size_t>(Tl)
                                       : 0);
  std::vector<int32_t> local_targets(local_inputs.size());
  model::ActivationRecord<float> record(model.table().modules());
  double sum = 0.0;
  for (int64_t first = first_window; first < end; first += micro_batch) {
    const int rows = static_cast<int>(std::min<int64_t>(micro_batch, end - first));
    data::fill_windows(tokens, T, first, rows, inputs.data(), targets.data());
    record.tokens = inputs.data();
    record.targets = targets.data();
    if (cp) {
      parallel::context::cp_take(*parallel.positions, T, inputs.data(), rows, local_inputs.data());
      parallel::context::cp_take(*parallel.positions, T, targets.data(), rows,
                                 local_targets.data());
      record.tokens = local_inputs.data();
      record.targets = local_targets.data();
    }
    model::Pass<float> pass{rows, Tl, model.table(), params, nullptr, arena, record};
    pass.hooks = parallel.hooks;
    pass.tp = parallel.tp;
    pass.workspace = parallel.workspace;
    if (cp) {
      pass.cp = parallel.cp;
      pass.positions = parallel.positions->data();
    }
    sum += model.forward(pass);
    arena.reset();
  }
  const int64_t count = end - first_window;
  return {sum / static_cast<double>(count * Tl), sum, count * Tl, count};
}

}  // namespace parti::train

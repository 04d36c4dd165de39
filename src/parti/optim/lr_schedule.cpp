#include "parti/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "parti/core/check.h"

namespace parti::optim {

double LrSchedule::at(double before, double after) const {
  if (before < warmup) {
    return lr * std::min(after, warmup) / warmup;
  }
  double progress = (before - warmup) / std::max(1.0, total - warmup);
  progress = std::min(progress, 1.0);
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

double batch_lr_factor(const std::string& scaling, int batch, int reference) {
  const double ratio = static_cast<double>(batch) / reference;
  if (scaling == "linear") {
    return ratio;
  }
  if (scaling == "sqrt") {
    return std::sqrt(ratio);
  }
  PARTI_ASSERT(scaling == "none", "--lr-batch-scaling ", scaling);
  return 1.0;
}

}  // namespace parti::optim

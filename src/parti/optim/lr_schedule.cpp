#include "parti/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace parti::optim {

double LrSchedule::at(int step) const {
  if (step < warmup) {
    return lr * (step + 1) / warmup;
  }
  double progress = static_cast<double>(step - warmup) / std::max(1, steps - warmup);
  progress = std::min(progress, 1.0);
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace parti::optim

// Learning rate: linear warmup, then cosine decay to a floor.
//   step s (0-based) < W:  lr * (s + 1) / W
//   otherwise:             min + (lr - min) * 0.5 * (1 + cos(pi * (s - W) / max(1, S - W)))
#pragma once

namespace parti::optim {

struct LrSchedule {
  double lr = 6e-4;
  double min_lr = 6e-5;
  int warmup = 0;
  int steps = 1;
  double at(int step) const;
};

}  // namespace parti::optim

// Learning rate: linear warmup, then cosine decay to a floor, over the run's progress in steps,
// or in tokens (train --train-tokens). A step that starts at position p and ends at q (steps:
// p = s, q = s + 1, s 0-based; tokens: those trained before it and after it) takes
//   p < W:      lr * min(q, W) / W
//   otherwise:  min + (lr - min) * 0.5 * (1 + cos(pi * min(1, (p - W) / max(1, S - W))))
// with W the warmup and S the whole run in the same unit.
#pragma once

#include <string>

namespace parti::optim {

struct LrSchedule {
  double lr = 6e-4;
  double min_lr = 6e-5;
  double warmup = 0;
  double total = 1;
  double at(double before, double after) const;
  double at(int step) const { return at(step, step + 1.0); }
};

// The learning rate's factor when a step's batch differs from the batch the rate was set for
// (train --lr-batch-scaling): none 1, linear batch / reference, sqrt its square root.
double batch_lr_factor(const std::string& scaling, int batch, int reference);

}  // namespace parti::optim

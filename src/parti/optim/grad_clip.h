// Clipping by the global gradient norm (torch.nn.utils.clip_grad_norm_): with
// norm = sqrt(sum of squares of every gradient), scale = min(1, max_norm / (norm + 1e-6)) and
// every gradient is multiplied by it. max_norm <= 0 disables clipping. The norm is summed in
// double over the table's parameters in table order (a fixed order: the same in every run).
#pragma once

#include "parti/model/param_table.h"

namespace parti::optim {

// min(1, max_norm / (norm + 1e-6)), or 1 when max_norm <= 0.
double clip_scale(double norm, double max_norm);

template <typename T>
double grad_norm(const model::ParamTable& table, const T* grads);

// Returns the norm before clipping.
template <typename T>
double clip_grad_norm(const model::ParamTable& table, T* grads, double max_norm);

}  // namespace parti::optim

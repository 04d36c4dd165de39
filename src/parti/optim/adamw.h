// AdamW over the parameter table: decoupled weight decay on the parameters the table marks
// `decay` (matrices and embeddings), none on biases and LayerNorm weights. Moments live in two
// flat buffers with the table's offsets.
#pragma once

#include <vector>

#include "parti/kernels/adamw.h"
#include "parti/model/param_table.h"

namespace parti::optim {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
};

template <typename T>
class AdamW {
 public:
  AdamW(const model::ParamTable& table, const AdamWConfig& cfg);
  // One update with learning rate lr; `step` counts completed updates (the first call uses 1).
  void update(T* params, const T* grads, double lr);
  int step() const { return step_; }
  void set_step(int step) { step_ = step; }
  std::vector<T>& m() { return m_; }  // (table.total())
  std::vector<T>& v() { return v_; }

 private:
  const model::ParamTable& table_;
  AdamWConfig cfg_;
  int step_ = 0;
  std::vector<T> m_;
  std::vector<T> v_;
};

}  // namespace parti::optim

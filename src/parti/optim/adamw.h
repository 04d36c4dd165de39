// AdamW over the parameter table: decoupled weight decay on the parameters the table marks
// `decay` (matrices and embeddings), none on biases and LayerNorm weights. It owns the moments
// of one contiguous range [begin, end) of the flat buffers: the whole table, or a ZeRO shard
// (then m and v hold end - begin elements, element i of the range at i - begin; a shard may run
// past the table's end into padding, which no parameter occupies and nothing updates).
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
  AdamW(const model::ParamTable& table, const AdamWConfig& cfg);  // the whole table
  AdamW(const model::ParamTable& table, const AdamWConfig& cfg, size_t begin, size_t end);
  // One update of the range with learning rate lr; params and grads are the full flat buffers.
  // `step` counts completed updates (the first call uses 1).
  void update(T* params, const T* grads, double lr);
  int step() const { return step_; }
  void set_step(int step) { step_ = step; }
  size_t begin() const { return begin_; }
  size_t end() const { return end_; }
  std::vector<T>& m() { return m_; }  // (end - begin)
  std::vector<T>& v() { return v_; }

 private:
  const model::ParamTable& table_;
  AdamWConfig cfg_;
  int step_ = 0;
  size_t begin_;
  size_t end_;
  std::vector<T> m_;
  std::vector<T> v_;
};

}  // namespace parti::optim

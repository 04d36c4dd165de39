// AdamW over the parameter table: decoupled weight decay on the parameters the table marks
// `decay` (matrices and embeddings), none on biases and LayerNorm weights. It owns the moments
// of a list of flat ranges (segments): the whole table, or a rank's ZeRO shard (one block of each
// unit). m and v hold the segments' elements one after another.
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

struct Segment {
  size_t begin;  // flat offset
  size_t count;
};

template <typename T>
class AdamW {
 public:
  AdamW(const model::ParamTable& table, const AdamWConfig& cfg);  // the whole table
  AdamW(const model::ParamTable& table, const AdamWConfig& cfg, std::vector<Segment> segments);
  // One update with learning rate lr from grads * grad_scale (clipping's factor, applied in the
  // update's own pass); params and grads are the full flat buffers.
  // `step` counts completed updates (the first call uses 1).
  void update(T* params, const T* grads, double lr, double grad_scale = 1.0);
  // The same where each segment's parameters and gradients live elsewhere: params[i] and
  // grads[i] point at segment i's first element.
  void update(const std::vector<T*>& params, const std::vector<const T*>& grads, double lr,
              double grad_scale = 1.0);
  int step() const { return step_; }
  void set_step(int step) { step_ = step; }
  const std::vector<Segment>& segments() const { return segments_; }
  std::vector<T>& m() { return m_; }  // the segments' moments, concatenated
  std::vector<T>& v() { return v_; }
  const std::vector<T>& m() const { return m_; }
  const std::vector<T>& v() const { return v_; }

 private:
  const model::ParamTable& table_;
  AdamWConfig cfg_;
  int step_ = 0;
  std::vector<Segment> segments_;
  std::vector<T> m_;
  std::vector<T> v_;
};

}  // namespace parti::optim

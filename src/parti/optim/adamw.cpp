#include "parti/optim/adamw.h"

#include <algorithm>

#include "parti/core/check.h"

namespace parti::optim {

namespace {

size_t total_count(const std::vector<Segment>& segments) {
  size_t n = 0;
  for (const Segment& s : segments) {
    n += s.count;
  }
  return n;
}

}  // namespace

template <typename T>
AdamW<T>::AdamW(const model::ParamTable& table, const AdamWConfig& cfg)
    : AdamW(table, cfg, {{0, table.total()}}) {}

template <typename T>
AdamW<T>::AdamW(const model::ParamTable& table, const AdamWConfig& cfg,
                std::vector<Segment> segments)
    : table_(table),
      cfg_(cfg),
      segments_(std::move(segments)),
      m_(total_count(segments_), T(0)),
      v_(total_count(segments_), T(0)) {}

template <typename T>
void AdamW<T>::update(T* params, const T* grads, double lr, double grad_scale) {
  std::vector<T*> p;
  std::vector<const T*> g;
  for (const Segment& s : segments_) {
    p.push_back(params + s.begin);
    g.push_back(grads + s.begin);
  }
  update(p, g, lr, grad_scale);
}

template <typename T>
void AdamW<T>::update(const std::vector<T*>& params, const std::vector<const T*>& grads, double lr,
                      double grad_scale) {
  PARTI_ASSERT(params.size() == segments_.size() && grads.size() == segments_.size(),
               "AdamW update of ", params.size(), " segments, ", segments_.size(), " expected");
  ++step_;
  size_t moment = 0;  // the segment's first moment
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& seg = segments_[i];
    // Every parameter the segment overlaps, with its own decay (gaps between parameters are
    // alignment padding: zero gradients, never read).
    for (const model::ParamSpec& spec : table_.specs()) {
      const size_t lo = std::max(seg.begin, spec.offset);
      const size_t hi = std::min(seg.begin + seg.count, spec.offset + spec.numel);
      if (lo >= hi) {
        continue;
      }
      kernels::AdamWHyper hyper{static_cast<float>(lr),
                                static_cast<float>(cfg_.beta1),
                                static_cast<float>(cfg_.beta2),
                                static_cast<float>(cfg_.eps),
                                spec.decay ? static_cast<float>(cfg_.weight_decay) : 0.0f,
                                step_,
                                static_cast<float>(grad_scale)};
      const size_t at = lo - seg.begin;
      kernels::adamw_update<T>(params[i] + at, m_.data() + moment + at, v_.data() + moment + at,
                               grads[i] + at, hi - lo, hyper);
    }
    moment += seg.count;
  }
}

template class AdamW<float>;
template class AdamW<double>;

}  // namespace parti::optim

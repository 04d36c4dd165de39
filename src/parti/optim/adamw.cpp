#include "parti/optim/adamw.h"

#include <algorithm>

namespace parti::optim {

template <typename T>
AdamW<T>::AdamW(const model::ParamTable& table, const AdamWConfig& cfg)
    : AdamW(table, cfg, 0, table.total()) {}

template <typename T>
AdamW<T>::AdamW(const model::ParamTable& table, const AdamWConfig& cfg, size_t begin, size_t end)
    : table_(table),
      cfg_(cfg),
      begin_(begin),
      end_(end),
      m_(end - begin, T(0)),
      v_(end - begin, T(0)) {}

template <typename T>
void AdamW<T>::update(T* params, const T* grads, double lr) {
  ++step_;
  for (const model::ParamSpec& spec : table_.specs()) {
    const size_t lo = std::max(begin_, spec.offset);
    const size_t hi = std::min(end_, spec.offset + spec.numel);
    if (lo >= hi) {
      continue;
    }
    kernels::AdamWHyper hyper{static_cast<float>(lr),
                              static_cast<float>(cfg_.beta1),
                              static_cast<float>(cfg_.beta2),
                              static_cast<float>(cfg_.eps),
                              spec.decay ? static_cast<float>(cfg_.weight_decay) : 0.0f,
                              step_};
    kernels::adamw_update<T>(params + lo, m_.data() + (lo - begin_), v_.data() + (lo - begin_),
                             grads + lo, hi - lo, hyper);
  }
}

template class AdamW<float>;
template class AdamW<double>;

}  // namespace parti::optim

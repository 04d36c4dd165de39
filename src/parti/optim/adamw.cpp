#include "parti/optim/adamw.h"

namespace parti::optim {

template <typename T>
AdamW<T>::AdamW(const model::ParamTable& table, const AdamWConfig& cfg)
    : table_(table), cfg_(cfg), m_(table.total(), T(0)), v_(table.total(), T(0)) {}

template <typename T>
void AdamW<T>::update(T* params, const T* grads, double lr) {
  ++step_;
  for (const model::ParamSpec& spec : table_.specs()) {
    kernels::AdamWHyper hyper{static_cast<float>(lr),
                              static_cast<float>(cfg_.beta1),
                              static_cast<float>(cfg_.beta2),
                              static_cast<float>(cfg_.eps),
                              spec.decay ? static_cast<float>(cfg_.weight_decay) : 0.0f,
                              step_};
    kernels::adamw_update<T>(params + spec.offset, m_.data() + spec.offset, v_.data() + spec.offset,
                             grads + spec.offset, spec.numel, hyper);
  }
}

template class AdamW<float>;
template class AdamW<double>;

}  // namespace parti::optim

#include "parti/optim/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "parti/kernels/elementwise.h"
#include "parti/kernels/reduce.h"

namespace parti::optim {

double clip_scale(double norm, double max_norm) {
  return max_norm <= 0.0 ? 1.0 : std::min(1.0, max_norm / (norm + 1e-6));
}

template <typename T>
double grad_norm(const model::ParamTable& table, const T* grads) {
  double total = 0.0;
  for (const model::ParamSpec& spec : table.specs()) {
    total += kernels::sum_squares<T>(grads + spec.offset, spec.numel);
  }
  return std::sqrt(total);
}

template <typename T>
double clip_grad_norm(const model::ParamTable& table, T* grads, double max_norm) {
  const double norm = grad_norm<T>(table, grads);
  const double scale = clip_scale(norm, max_norm);
  if (scale < 1.0) {
    kernels::scale<T>(grads, static_cast<T>(scale), table.total());
  }
  return norm;
}

template double grad_norm<float>(const model::ParamTable&, const float*);
template double grad_norm<double>(const model::ParamTable&, const double*);
template double clip_grad_norm<float>(const model::ParamTable&, float*, double);
template double clip_grad_norm<double>(const model::ParamTable&, double*, double);

}  // namespace parti::optim

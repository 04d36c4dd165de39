#include "parti/parallel/tensor/grid_norm.h"

#include "parti/kernels/layernorm.h"
#include "parti/kernels/rmsnorm.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::parallel::tensor {
namespace {

// Per-row statistics summed along the grid row: the whole width's.
template <typename T>
kernels::RowSum<T> row_sum(const Pass<T>& pass) {
  return
      [&pass](T* data, size_t n) { pass.tp->row_group->all_reduce(data, n, dist::ReduceOp::sum); };
}

}  // namespace

template <typename T>
void layernorm_forward(const Pass<T>& pass, T* out, T* mean, T* rstd, const T* inp, const T* weight,
                       const T* bias, int N, int C) {
  if (!pass.block()) {
    kernels::layernorm_forward<T>(out, mean, rstd, inp, weight, bias, N, C);
  } else {
    kernels::layernorm_forward_split<T>(out, mean, rstd, inp, weight, bias, N, pass.local_width(C),
                                        C, row_sum(pass));
  }
}

template <typename T>
void layernorm_backward(const Pass<T>& pass, T* dinp, T* dweight, T* dbias, const T* dout,
                        const T* inp, const T* weight, const T* mean, const T* rstd, int N, int C) {
  if (!pass.block()) {
    kernels::layernorm_backward<T>(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  } else {
    kernels::layernorm_backward_split<T>(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N,
                                         pass.local_width(C), C, row_sum(pass));
  }
}

template <typename T>
void rmsnorm_forward(const Pass<T>& pass, T* out, T* rstd, const T* inp, const T* weight, int N,
                     int C, double eps) {
  if (!pass.block()) {
    kernels::rmsnorm_forward<T>(out, rstd, inp, weight, N, C, eps);
  } else {
    kernels::rmsnorm_forward_split<T>(out, rstd, inp, weight, N, pass.local_width(C), C, eps,
                                      row_sum(pass));
  }
}

template <typename T>
void rmsnorm_backward(const Pass<T>& pass, T* dinp, T* dweight, const T* dout, const T* inp,
                      const T* weight, const T* rstd, int N, int C) {
  if (!pass.block()) {
    kernels::rmsnorm_backward<T>(dinp, dweight, dout, inp, weight, rstd, N, C);
  } else {
    kernels::rmsnorm_backward_split<T>(dinp, dweight, dout, inp, weight, rstd, N,
                                       pass.local_width(C), C, row_sum(pass));
  }
}

#define PARTI_GRID_NORMS(T)                                                                       \
  template void layernorm_forward<T>(const Pass<T>&, T*, T*, T*, const T*, const T*, const T*,    \
                                     int, int);                                                   \
  template void layernorm_backward<T>(const Pass<T>&, T*, T*, T*, const T*, const T*, const T*,   \
                                      const T*, const T*, int, int);                              \
  template void rmsnorm_forward<T>(const Pass<T>&, T*, T*, const T*, const T*, int, int, double); \
  template void rmsnorm_backward<T>(const Pass<T>&, T*, T*, const T*, const T*, const T*,         \
                                    const T*, int, int);
PARTI_GRID_NORMS(float)
PARTI_GRID_NORMS(double)
#undef PARTI_GRID_NORMS

}  // namespace parti::parallel::tensor

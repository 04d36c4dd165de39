#include "parti/model/tensor_parallel.h"

namespace parti::model {

template <typename T>
int tp_size(const Pass<T>& pass) {
  const int size = pass.table.tp().size;
  PARTI_ASSERT(size == 1 || (pass.tp != nullptr && pass.tp->size() == size),
               "a model built for tp ", size, " run without its tp group");
  return size;
}

template <typename T>
void tp_all_reduce(const Pass<T>& pass, T* data, size_t n) {
  if (tp_size(pass) > 1) {
    pass.tp->all_reduce(data, n, dist::ReduceOp::sum);
  }
}

template <typename T>
void add_bias(T* out, const T* bias, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* row = out + static_cast<size_t>(n) * static_cast<size_t>(C);
    for (int c = 0; c < C; ++c) {
      row[c] += bias[c];
    }
  }
}

template <typename T>
void add_into(T* out, const T* in, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    out[i] += in[i];
  }
}

template int tp_size<float>(const Pass<float>&);
template int tp_size<double>(const Pass<double>&);
template void tp_all_reduce<float>(const Pass<float>&, float*, size_t);
template void tp_all_reduce<double>(const Pass<double>&, double*, size_t);
template void add_bias<float>(float*, const float*, int, int);
template void add_bias<double>(double*, const double*, int, int);
template void add_into<float>(float*, const float*, size_t);
template void add_into<double>(double*, const double*, size_t);

}  // namespace parti::model

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
const T* tp_gather(const Pass<T>& pass, const T* in, int width, Scratch<T>& scratch) {
  if (!pass.sp || tp_size(pass) == 1) {
    return in;
  }
  const size_t chunk = pass.local_tokens() * static_cast<size_t>(width);
  T* whole = scratch.alloc(pass.tokens() * static_cast<size_t>(width));
  pass.tp->all_gather(in, whole, chunk);
  return whole;
}

template <typename T>
T* tp_partial_output(const Pass<T>& pass, T* out, int width, Scratch<T>& scratch) {
  if (!pass.sp || tp_size(pass) == 1) {
    return out;
  }
  return scratch.alloc(pass.tokens() * static_cast<size_t>(width));
}

template <typename T>
void tp_reduce_output(const Pass<T>& pass, T* partial, T* out, int width) {
  if (tp_size(pass) == 1) {
    return;
  }
  if (pass.sp) {
    pass.tp->reduce_scatter(partial, out, pass.local_tokens() * static_cast<size_t>(width));
  } else {
    tp_all_reduce(pass, out, pass.tokens() * static_cast<size_t>(width));
  }
}

template <typename T>
void tp_add_input_grad(const Pass<T>& pass, T* partial, T* dinp, int width, Scratch<T>& scratch) {
  const size_t local = pass.local_tokens() * static_cast<size_t>(width);
  if (pass.sp && tp_size(pass) > 1) {
    T* mine = scratch.alloc(local);
    pass.tp->reduce_scatter(partial, mine, local);
    add_into(dinp, mine, local);
    return;
  }
  tp_all_reduce(pass, partial, local);
  add_into(dinp, partial, local);
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
#define PARTI_TP_FORMS(T)                                                     \
  template const T* tp_gather<T>(const Pass<T>&, const T*, int, Scratch<T>&); \
  template T* tp_partial_output<T>(const Pass<T>&, T*, int, Scratch<T>&);     \
  template void tp_reduce_output<T>(const Pass<T>&, T*, T*, int);             \
  template void tp_add_input_grad<T>(const Pass<T>&, T*, T*, int, Scratch<T>&);
PARTI_TP_FORMS(float)
PARTI_TP_FORMS(double)
#undef PARTI_TP_FORMS
template void add_bias<float>(float*, const float*, int, int);
template void add_bias<double>(double*, const double*, int, int);
template void add_into<float>(float*, const float*, size_t);
template void add_into<double>(double*, const double*, size_t);

}  // namespace parti::model

#include "parti/parallel/tensor/mappings.h"

#include "parti/kernels/elementwise.h"

namespace parti::parallel::tensor {

TensorParallel make_tensor_parallel(dist::ProcessGroup& group, bool sp) {
  return {&group, group.size(), group.rank(), sp && group.size() > 1};
}

TensorParallel make_block_parallel(dist::ProcessGroup& group, dist::ProcessGroup& row_group,
                                   dist::ProcessGroup& col_group, int grid) {
  PARTI_ASSERT(grid > 1 && group.size() == grid * grid && row_group.size() == grid &&
                   col_group.size() == grid && row_group.rank() == group.rank() % grid &&
                   col_group.rank() == group.rank() / grid,
               "a ", grid, " x ", grid, " grid of groups ", group.size(), ", ", row_group.size(),
               ", ", col_group.size());
  TensorParallel tp{&group, group.size(), group.rank(), false};
  tp.grid = grid;
  tp.row = group.rank() / grid;
  tp.col = group.rank() % grid;
  tp.row_group = &row_group;
  tp.col_group = &col_group;
  return tp;
}

template <typename T>
void tp_reduce_param_grad(const Pass<T>& pass, T* data, size_t n) {
  if (pass.block()) {
    pass.tp->col_group->all_reduce(data, n, dist::ReduceOp::sum);
  } else if (pass.sp()) {
    tp_all_reduce(pass, data, n);
  }
}

template <typename T>
int tp_size(const Pass<T>& pass) {
  const int size = pass.table.tp().size;
  PARTI_ASSERT(size == 1 || (pass.tp != nullptr && pass.tp->size == size), "a model built for tp ",
               size, " run without its tp context");
  return size;
}

template <typename T>
void tp_all_reduce(const Pass<T>& pass, T* data, size_t n) {
  if (tp_size(pass) > 1) {
    (pass.block() ? pass.tp->row_group : pass.tp->group)->all_reduce(data, n, dist::ReduceOp::sum);
  }
}

template <typename T>
void tp_all_reduce_max(const Pass<T>& pass, T* data, size_t n) {
  if (tp_size(pass) > 1) {
    (pass.block() ? pass.tp->row_group : pass.tp->group)->all_reduce(data, n, dist::ReduceOp::max);
  }
}

template <typename T>
double tp_total_loss(const Pass<T>& pass, double sum) {
  if (pass.block()) {
    pass.tp->col_group->all_reduce(&sum, 1, dist::ReduceOp::sum);
  }
  return sum;
}

template <typename T>
const T* tp_gather(const Pass<T>& pass, const T* in, int width, Scratch<T>& scratch) {
  if (!pass.sp() || tp_size(pass) == 1) {
    return in;
  }
  return tp_gather_into(pass, in, width, scratch.alloc(pass.tokens() * static_cast<size_t>(width)));
}

template <typename T>
const T* tp_gather_into(const Pass<T>& pass, const T* in, int width, T* all) {
  if (!pass.sp() || tp_size(pass) == 1) {
    return in;
  }
  pass.tp->group->all_gather(in, all, pass.local_tokens() * static_cast<size_t>(width));
  return all;
}

template <typename T>
T* tp_partial_output(const Pass<T>& pass, T* out, int width, Scratch<T>& scratch) {
  if (!pass.sp() || tp_size(pass) == 1) {
    return out;
  }
  return scratch.alloc(pass.tokens() * static_cast<size_t>(width));
}

template <typename T>
void tp_reduce_output(const Pass<T>& pass, T* partial, T* out, int width) {
  if (tp_size(pass) == 1 || pass.block()) {
    return;
  }
  if (pass.sp()) {
    pass.tp->group->reduce_scatter(partial, out, pass.local_tokens() * static_cast<size_t>(width));
  } else {
    tp_all_reduce(pass, out, pass.tokens() * static_cast<size_t>(width));
  }
}

template <typename T>
void tp_add_input_grad(const Pass<T>& pass, T* partial, T* dinp, int width, Scratch<T>& scratch) {
  const size_t local = pass.local_tokens() * static_cast<size_t>(width);
  if (pass.block()) {
    return;  // SUMMA's input gradient is complete (input_grad gave dinp itself)
  }
  if (pass.sp() && tp_size(pass) > 1) {
    T* mine = scratch.alloc(local);
    pass.tp->group->reduce_scatter(partial, mine, local);
    kernels::add_into<T>(dinp, mine, local);
    return;
  }
  tp_all_reduce(pass, partial, local);
  kernels::add_into<T>(dinp, partial, local);
}

#define PARTI_TP_FORMS(T)                                                     \
  template int tp_size<T>(const Pass<T>&);                                    \
  template void tp_all_reduce<T>(const Pass<T>&, T*, size_t);                 \
  template void tp_reduce_param_grad<T>(const Pass<T>&, T*, size_t);          \
  template double tp_total_loss<T>(const Pass<T>&, double);                   \
  template void tp_all_reduce_max<T>(const Pass<T>&, T*, size_t);             \
  template const T* tp_gather<T>(const Pass<T>&, const T*, int, Scratch<T>&); \
  template const T* tp_gather_into<T>(const Pass<T>&, const T*, int, T*);     \
  template T* tp_partial_output<T>(const Pass<T>&, T*, int, Scratch<T>&);     \
  template void tp_reduce_output<T>(const Pass<T>&, T*, T*, int);             \
  template void tp_add_input_grad<T>(const Pass<T>&, T*, T*, int, Scratch<T>&);
PARTI_TP_FORMS(float)
PARTI_TP_FORMS(double)
#undef PARTI_TP_FORMS

}  // namespace parti::parallel::tensor

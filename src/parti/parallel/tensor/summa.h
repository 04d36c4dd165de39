// Block-partitioned linear layers (issue #21): Optimus's 2D tensor parallelism (Xu et al. 2021)
// on SUMMA (van de Geijn & Watts 1997). The tp group is a q x q grid; rank (i, j) holds
//   x_ij   its grid row's tokens (the i-th part of the samples) by the j-th part of the inputs
//   W_ij   the i-th part of the input features by the j-th part of the outputs (of each group)
//   b_j    the j-th part of the bias, the same on every rank of grid column j
// and y = x W + b comes out cut the same way as x, in q steps k = 0 .. q-1:
//   forward    x_ik broadcast along grid row i, W_kj along grid column j; y_ij += x_ik W_kj
//   backward   W_kj along grid column j, x_ik along grid row i (again: nothing extra is kept);
//              dy_ij W_kj^T, a partial of dx_ik, reduced along grid row i to rank (i, k);
//              x_ik^T dy_ij, a partial of dW_kj, reduced along grid column j to rank (k, j);
//              db_j: the column's sum of its ranks' sum over tokens (an all-reduce)
// Each step's broadcasts are posted before the previous step's product (double buffers), and
// its reductions are waited for only when their buffer comes round again, so the grid's traffic
// overlaps the products. Per rank and product of M grid-row tokens, K inputs and N outputs:
// forward q broadcasts of M K / q and q of K N / q^2; backward the same broadcasts, q reduces of
// each size, and one all-reduce of N / q.
#pragma once

#include "parti/parallel/tensor/linear.h"

namespace parti::parallel::tensor {

// y (rows tokens, out / q) = x (rows tokens, in / q) W + b; `weight`, `bias` (-1: none): the
// layer's parameters in the pass's table.
template <typename T>
void summa_forward(const Pass<T>& pass, const LinearShape& shape, int weight, int bias, const T* x,
                   T* y);
// dx (rows tokens, in / q) += dy W^T (dx null: not wanted), W's and b's gradients += from dy
// (rows tokens, out / q) and x.
template <typename T>
void summa_backward(const Pass<T>& pass, const LinearShape& shape, int weight, int bias,
                    const T* dy, const T* x, T* dx);

}  // namespace parti::parallel::tensor

// Megatron's conjugate operators for a tensor-parallel layer (Shoeybi et al. 2019): a
// column-parallel product needs its input whole on every rank and gives each rank its columns;
// a row-parallel product takes those columns and gives each rank a partial sum of the whole
// output. Hence, per sublayer, one all-reduce after the row-parallel product in forward (g) and
// one of the column-parallel input gradient in backward (f). Without tp these are nothing.
#pragma once

#include <cstddef>

#include "parti/model/module.h"

namespace parti::model {

// The tp group's size for this table (1 without tensor parallelism); asserts the pass has the
// group when the table was built for more than one rank.
template <typename T>
int tp_size(const Pass<T>& pass);

// data (n) <- the sum over the tp group (nothing at tp = 1).
template <typename T>
void tp_all_reduce(const Pass<T>& pass, T* data, size_t n);

// out (N, C) += bias (C) on every row.
template <typename T>
void add_bias(T* out, const T* bias, int N, int C);

// out (n) += in (n).
template <typename T>
void add_into(T* out, const T* in, size_t n);

}  // namespace parti::model

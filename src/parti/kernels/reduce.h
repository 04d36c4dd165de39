// Deterministic reductions. Column sums over many rows are split into fixed blocks of rows
// (kRowBlock, independent of the thread count), each block summed in order, then the block sums
// added in block order: the result is bit-identical for any number of threads.
#pragma once

#include <cstddef>

namespace parti::kernels {

constexpr int kRowBlock = 64;

// out[c] += sum_r inp[r * C + c]      inp (N, C), out (C)
template <typename T>
void column_sum_accumulate(T* out, const T* inp, int N, int C);

// Two column sums at once: out_a[c] += sum_r a[r, c], out_b[c] += sum_r b[r, c].
template <typename T>
void column_sum2_accumulate(T* out_a, T* out_b, const T* a, const T* b, int N, int C);

// sum_i x[i]^2 in double, in a fixed order.
template <typename T>
double sum_squares(const T* x, size_t n);

}  // namespace parti::kernels

#include "parti/parallel/tensor/summa.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include "parti/kernels/elementwise.h"
#include "parti/kernels/gemm.h"
#include "parti/kernels/reduce.h"

namespace parti::parallel::tensor {
namespace {

// A layer's sizes on the grid: M tokens of the grid row, K / q inputs, N / q outputs.
struct Blocks {
  int M, Kl, Nl, q, row, col;
  size_t x() const { return static_cast<size_t>(M) * static_cast<size_t>(Kl); }
  size_t w() const { return static_cast<size_t>(Kl) * static_cast<size_t>(Nl); }
};

template <typename T>
Blocks blocks_of(const Pass<T>& pass, const LinearShape& shape) {
  const TensorParallel& tp = *pass.tp;
  PARTI_ASSERT(pass.block() && tp.row_group != nullptr && tp.col_group != nullptr,
               "a block-partitioned layer without its grid");
  PARTI_ASSERT(pass.deferred == nullptr, "block partitioning does not defer weight gradients");
  return {static_cast<int>(pass.product_tokens()),
          shape.in / tp.grid,
          shape.out / tp.grid,
          tp.grid,
          tp.row,
          tp.col};
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Waits for `r` (posted earlier), counting in `stats` whether it was already done and the wait.
void wait_counted(dist::Request& r, GridStats* stats) {
  if (stats == nullptr || r.empty()) {
    r.wait();
    return;
  }
  ++stats->transfers;
  if (r.test()) {
    ++stats->hidden;
    return;
  }
  const Clock::time_point t0 = Clock::now();
  r.wait();
  stats->wait_s += since(t0);
}

// Runs a product, its time counted.
template <typename F>
void timed(GridStats* stats, F&& product) {
  const Clock::time_point t0 = Clock::now();
  product();
  if (stats != nullptr) {
    stats->compute_s += since(t0);
  }
}

// A step's blocks and their broadcasts.
template <typename T>
struct Step {
  const T* x = nullptr;
  const T* w = nullptr;
  std::array<dist::Request, 2> requests;
  void wait(GridStats* stats) {
    for (dist::Request& r : requests) {
      wait_counted(r, stats);
    }
  }
};

// Step k's broadcasts: x_ik along the grid row (from column k), W_kj along the grid column (from
// row k). The root sends its own block (MPI reads a root's buffer only); the others receive into
// the step's buffer. Returns the blocks to multiply once both requests are waited for.
template <typename T>
Step<T> post_step(const TensorParallel& tp, const Blocks& b, int k, const T* x, const T* w,
                  T* x_buffer, T* w_buffer) {
  Step<T> s;
  if (x != nullptr) {
    T* xs = b.col == k ? const_cast<T*>(x) : x_buffer;
    s.requests[0] = tp.row_group->ibroadcast(xs, b.x(), k);
    s.x = xs;
  }
  if (w != nullptr) {
    T* ws = b.row == k ? const_cast<T*>(w) : w_buffer;
    s.requests[1] = tp.col_group->ibroadcast(ws, b.w(), k);
    s.w = ws;
  }
  return s;
}

}  // namespace

template <typename T>
void summa_forward(const Pass<T>& pass, const LinearShape& shape, int weight, int bias, const T* x,
                   T* y) {
  const Blocks b = blocks_of(pass, shape);
  Scratch<T> scratch(pass);
  T* xb[2] = {scratch.alloc(b.x()), scratch.alloc(b.x())};
  T* wb[2] = {scratch.alloc(b.w()), scratch.alloc(b.w())};
  const T* W = pass.param(weight);
  Step<T> now = post_step(*pass.tp, b, 0, x, W, xb[0], wb[0]);
  for (int k = 0; k < b.q; ++k) {
    Step<T> next;
    if (k + 1 < b.q) {  // its buffers were last read by step k - 1's product, now done
      next = post_step(*pass.tp, b, k + 1, x, W, xb[(k + 1) % 2], wb[(k + 1) % 2]);
    }
    now.wait(pass.tp->stats);
    timed(pass.tp->stats, [&] {
      if (k == 0) {  // y = x_i0 W_0j + b_j
        kernels::matmul_forward<T>(y, now.x, now.w, bias >= 0 ? pass.param(bias) : nullptr, b.M,
                                   b.Kl, b.Nl, shape.layout);
      } else {  // y += x_ik W_kj
        const bool in_out = shape.layout == kernels::WeightLayout::in_out;
        kernels::gemm<T>(kernels::Trans::no, in_out ? kernels::Trans::no : kernels::Trans::yes, b.M,
                         b.Nl, b.Kl, T(1), now.x, b.Kl, now.w, in_out ? b.Nl : b.Kl, T(1), y, b.Nl);
      }
    });
    now = std::move(next);
  }
}

template <typename T>
void summa_backward(const Pass<T>& pass, const LinearShape& shape, int weight, int bias,
                    const T* dy, const T* x, T* dx) {
  const Blocks b = blocks_of(pass, shape);
  const TensorParallel& tp = *pass.tp;
  Scratch<T> scratch(pass);
  T* xb[2] = {scratch.alloc(b.x()), scratch.alloc(b.x())};
  T* wb[2] = {scratch.alloc(b.w()), scratch.alloc(b.w())};
  // Partial products, double-buffered, and where each reduction's root receives the sum.
  T* px[2] = {scratch.alloc(b.x()), scratch.alloc(b.x())};
  T* pw[2] = {scratch.alloc(b.w()), scratch.alloc(b.w())};
  T* dx_sum = scratch.alloc(b.x());
  T* dw_sum = scratch.alloc(b.w());
  std::vector<dist::Request> reduce_x(static_cast<size_t>(b.q)), reduce_w(static_cast<size_t>(b.q));
  const T* W = dx != nullptr ? pass.param(weight) : nullptr;  // W only for the input gradient
  Step<T> now = post_step(tp, b, 0, x, W, xb[0], wb[0]);
  for (int k = 0; k < b.q; ++k) {
    Step<T> next;
    if (k + 1 < b.q) {
      next = post_step(tp, b, k + 1, x, W, xb[(k + 1) % 2], wb[(k + 1) % 2]);
    }
    now.wait(tp.stats);
    const int s = k % 2;
    if (k >= 2) {  // the buffers of step k - 2's reductions come round again
      wait_counted(reduce_x[static_cast<size_t>(k - 2)], tp.stats);
      wait_counted(reduce_w[static_cast<size_t>(k - 2)], tp.stats);
    }
    if (dx != nullptr) {  // dy_ij W_kj^T: rank (i, k)'s input gradient, summed along the row
      timed(tp.stats, [&] {
        std::fill(px[s], px[s] + b.x(), T(0));
        kernels::matmul_backward<T>(px[s], nullptr, nullptr, dy, nullptr, now.w, b.M, b.Kl, b.Nl,
                                    shape.layout);
      });
      reduce_x[static_cast<size_t>(k)] = tp.row_group->ireduce(px[s], dx_sum, b.x(), k);
    }
    // x_ik^T dy_ij: rank (k, j)'s weight gradient, summed along the column.
    timed(tp.stats, [&] {
      std::fill(pw[s], pw[s] + b.w(), T(0));
      kernels::matmul_backward<T>(nullptr, pw[s], nullptr, dy, now.x, nullptr, b.M, b.Kl, b.Nl,
                                  shape.layout);
    });
    reduce_w[static_cast<size_t>(k)] = tp.col_group->ireduce(pw[s], dw_sum, b.w(), k);
    now = std::move(next);
  }
  for (int k = std::max(0, b.q - 2); k < b.q; ++k) {
    wait_counted(reduce_x[static_cast<size_t>(k)], tp.stats);
    wait_counted(reduce_w[static_cast<size_t>(k)], tp.stats);
  }
  if (dx != nullptr) {
    kernels::add_into<T>(dx, dx_sum, b.x());
  }
  kernels::add_into<T>(pass.grad(weight), dw_sum, b.w());
  if (bias >= 0) {  // b_j is every grid-column rank's: the sum over all of their tokens
    T* db = scratch.alloc(static_cast<size_t>(b.Nl));
    std::fill(db, db + b.Nl, T(0));
    kernels::column_sum_accumulate<T>(db, dy, b.M, b.Nl);
    tp.col_group->all_reduce(db, static_cast<size_t>(b.Nl), dist::ReduceOp::sum);
    kernels::add_into<T>(pass.grad(bias), db, static_cast<size_t>(b.Nl));
  }
}

template void summa_forward<float>(const Pass<float>&, const LinearShape&, int, int, const float*,
                                   float*);
template void summa_forward<double>(const Pass<double>&, const LinearShape&, int, int,
                                    const double*, double*);
template void summa_backward<float>(const Pass<float>&, const LinearShape&, int, int, const float*,
                                    const float*, float*);
template void summa_backward<double>(const Pass<double>&, const LinearShape&, int, int,
                                     const double*, const double*, double*);

}  // namespace parti::parallel::tensor

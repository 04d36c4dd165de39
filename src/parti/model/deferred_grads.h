// Weight gradients deferred out of backward, for zero-bubble pipeline schedules (Qi et al. 2023):
// a backward split into its input-gradient part I, which the previous stage waits for, and its
// weight-gradient part W, which can run later to fill an idle slot.
// With pass.deferred set, every linear layer's backward computes only its input gradient and
// queues its weight-gradient product: copies of the output gradient and of the input it saw (the
// record's buffers may be recomputed or gathered scratch that is gone by W), with the parameters
// to accumulate into. LayerNorm and the embedding lookup, a few elementwise passes, stay in I.
// run() later does the queued products in the order they were queued, with the same kernel and
// arguments as an undeferred backward: the gradients are bit for bit the same. (Used without
// unit hooks only: the pipeline reduces gradients after the schedule, not unit by unit.)
#pragma once

#include <algorithm>
#include <vector>

#include "parti/core/arena.h"
#include "parti/kernels/matmul.h"
#include "parti/model/module.h"

namespace parti::model {

template <typename T>
class DeferredGrads {
 public:
  // Queues dweight += inp^T dout and dbias += sum dout (bias -1: none) of parameters `weight`,
  // `bias` (ParamTable indices) for dout (N, OC) and inp (N, C): copies of them, or with `kept`
  // the pointers themselves (buffers of the micro-batch's arena that outlive the queue).
  void push(int weight, int bias, const T* dout, const T* inp, int N, int C, int OC,
            kernels::WeightLayout layout, bool kept) {
    const auto copy = [&](const T* from, size_t n) {
      if (kept) {
        return from;
      }
      T* to = arena_.template alloc<T>(n);
      std::copy(from, from + n, to);
      return static_cast<const T*>(to);
    };
    const auto rows = static_cast<size_t>(N);
    jobs_.push_back({weight, bias, copy(dout, rows * static_cast<size_t>(OC)),
                     copy(inp, rows * static_cast<size_t>(C)), N, C, OC, layout});
  }
  bool empty() const { return jobs_.empty(); }
  // Runs the queued products into pass.grads, then forgets them.
  void run(const Pass<T>& pass) {
    for (const Job& job : jobs_) {
      kernels::matmul_backward<T>(nullptr, pass.grad(job.weight),
                                  job.bias >= 0 ? pass.grad(job.bias) : nullptr, job.dout, job.inp,
                                  nullptr, job.N, job.C, job.OC, job.layout);
    }
    jobs_.clear();
    arena_.reset();
  }
  size_t peak_bytes() const { return arena_.peak_bytes(); }
  void open_window() { arena_.open_window(); }
  size_t window_peak() const { return arena_.window_peak(); }

 private:
  struct Job {
    int weight, bias;
    const T* dout;
    const T* inp;
    int N, C, OC;
    kernels::WeightLayout layout;
  };
  core::Arena arena_;
  std::vector<Job> jobs_;
};

// A linear layer's backward: dinp += dout W^T (dinp may be null), and the weight and bias
// gradients now, or queued in pass.deferred (`kept`: dout and inp outlive the queue, no copy).
// bias -1: none.
template <typename T>
void linear_backward(const Pass<T>& pass, T* dinp, int weight, int bias, const T* dout,
                     const T* inp, int N, int C, int OC, kernels::WeightLayout layout,
                     bool kept = false) {
  if (pass.deferred != nullptr) {
    kernels::matmul_backward<T>(dinp, nullptr, nullptr, dout, inp, pass.param(weight), N, C, OC,
                                layout);
    pass.deferred->push(weight, bias, dout, inp, N, C, OC, layout, kept);
    return;
  }
  kernels::matmul_backward<T>(dinp, pass.grad(weight), bias >= 0 ? pass.grad(bias) : nullptr, dout,
                              inp, pass.param(weight), N, C, OC, layout);
}

}  // namespace parti::model

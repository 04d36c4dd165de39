// Weight gradients deferred out of backward, for zero-bubble pipeline schedules (Qi et al. 2023):
// a backward split into its input-gradient part I, which the previous stage waits for, and its
// weight-gradient part W, which can run later to fill an idle slot.
// With pass.deferred set, I writes no parameter gradient: every linear layer computes only its
// input gradient and queues its weight-gradient product (copies of the output gradient and of the
// input it saw: the record's buffers may be recomputed or gathered scratch that is gone by W);
// a norm computes its small parameter gradients into zeros that W adds (sums()). run() later does
// the queued work in the order it was queued, with the same kernels and arguments as an
// undeferred backward: the gradients are bit for bit the same. The work is queued per unit
// (in_unit tells which), and run() enters each unit again through pass.hooks, so ZeRO 2-3 stage,
// fill and reduce-scatter a unit's gradients in W, one unit at a time, as in any backward.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "parti/core/arena.h"
#include "parti/kernels/elementwise.h"
#include "parti/kernels/matmul.h"
#include "parti/model/module.h"

namespace parti::model {

template <typename T>
class DeferredGrads {
 public:
  // The unit the following pushes belong to.
  void set_unit(int unit) { unit_ = unit; }
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
    jobs_.push_back({unit_, weight, bias, copy(dout, rows * static_cast<size_t>(OC)),
                     copy(inp, rows * static_cast<size_t>(C)), N, C, OC, layout});
  }
  // n zeros for `weight`'s gradient (then n for `bias`'s; -1: none) that the caller fills now
  // and W adds into the parameters' gradients.
  T* sums(int weight, int bias, size_t n) {
    T* values = arena_.template alloc_zero<T>(bias >= 0 ? 2 * n : n);
    jobs_.push_back({unit_, weight, bias, values, nullptr, static_cast<int>(n), 0, 0, {}});
    return values;
  }
  bool empty() const { return jobs_.empty(); }
  // Runs the queued work into pass.grads, unit by unit (each entered through pass.hooks for its
  // gradients alone, and final when left), then forgets it.
  void run(Pass<T>& pass) {
    for (size_t first = 0; first < jobs_.size();) {
      const int unit = jobs_[first].unit;
      size_t last = first;
      while (last < jobs_.size() && jobs_[last].unit == unit) {
        ++last;
      }
      if (pass.hooks != nullptr) {
        pass.hooks->enter(pass, unit, Use::grads_only, -1);
      }
      for (size_t j = first; j < last; ++j) {
        run(pass, jobs_[j]);
      }
      if (pass.hooks != nullptr) {
        pass.hooks->leave(pass, unit, Use::grads_only, true);
      }
      first = last;
    }
    jobs_.clear();
    arena_.reset();
  }
  size_t peak_bytes() const { return arena_.peak_bytes(); }
  void open_window() { arena_.open_window(); }
  size_t window_peak() const { return arena_.window_peak(); }

 private:
  struct Job {
    int unit, weight, bias;
    const T* dout;  // sums(): the values
    const T* inp;   // sums(): null
    int N, C, OC;   // sums(): N is the count
    kernels::WeightLayout layout;
  };
  static void run(const Pass<T>& pass, const Job& job) {
    if (job.inp == nullptr) {
      const auto n = static_cast<size_t>(job.N);
      kernels::add_into<T>(pass.grad(job.weight), job.dout, n);
      if (job.bias >= 0) {
        kernels::add_into<T>(pass.grad(job.bias), job.dout + n, n);
      }
      return;
    }
    kernels::matmul_backward<T>(nullptr, pass.grad(job.weight),
                                job.bias >= 0 ? pass.grad(job.bias) : nullptr, job.dout, job.inp,
                                nullptr, job.N, job.C, job.OC, job.layout);
  }
  core::Arena arena_;
  std::vector<Job> jobs_;
  int unit_ = -1;
};

// Runs `body` inside a unit's use, told to the pass's hooks (when any). A backward under
// pass.deferred (I) only reads the unit's parameters: its gradients are W's (run() enters the
// unit again for them), so the hooks see Use::backward_input and a unit not yet final.
template <typename T, typename Body>
void in_unit(Pass<T>& pass, int unit, Use use, int next, bool final, Body&& body) {
  if (use == Use::backward && pass.deferred != nullptr) {
    use = Use::backward_input;
    final = false;
    pass.deferred->set_unit(unit);
  }
  if (pass.hooks != nullptr) {
    pass.hooks->enter(pass, unit, use, next);
  }
  body();
  if (pass.hooks != nullptr) {
    pass.hooks->leave(pass, unit, use, final);
  }
}

// The gradients of a norm's weight and bias (n each; bias -1: none) to accumulate into: the
// parameters' own, or under pass.deferred zeros that W adds in.
template <typename T>
std::pair<T*, T*> norm_grads(const Pass<T>& pass, int weight, int bias, size_t n) {
  if (pass.deferred != nullptr) {
    T* values = pass.deferred->sums(weight, bias, n);
    return {values, bias >= 0 ? values + n : nullptr};
  }
  return {pass.grad(weight), bias >= 0 ? pass.grad(bias) : nullptr};
}

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

// What every family does between its embedding and its head: a chunk's layers run forward in
// order and backward in reverse, each inside its unit (in_unit: ZeRO's gathers, staging and
// zero-bubble queuing), and the head's summed cross-entropy. `layer(b)` is layer b's module and
// `unit(b)` its unit; the chunk holds layers first .. first + count - 1.
#pragma once

#include <algorithm>
#include <cstddef>

#include "parti/model/deferred_grads.h"
#include "parti/parallel/tensor/vocab_cross_entropy.h"

namespace parti::model {

// Returns the last layer's output; `after` is the unit entered next (-1: none).
template <typename T, typename LayerOf, typename UnitOf>
const T* forward_layers(Pass<T>& pass, int C, int first, int count, int after, const T* x,
                        LayerOf&& layer, UnitOf&& unit) {
  const size_t n = pass.local_numel(C);
  for (int i = 0; i < count; ++i) {
    const int b = first + i;
    T* next = pass.arena.template alloc<T>(n);
    in_unit(pass, unit(b), Use::forward, i + 1 < count ? unit(b + 1) : after, false,
            [&] { layer(b)->forward(pass, x, next); });
    x = next;
  }
  return x;
}

// The gradient flowing down the layers lives in two buffers used in turn (a layer's input
// gradient is the next one's output gradient; the one before is dead): `flow`, allocated here
// when the head did not. Returns the first layer's input gradient (dx when count is 0).
template <typename T, typename LayerOf, typename UnitOf>
const T* backward_layers(Pass<T>& pass, int C, int first, int count, const T* dx, T* flow[2],
                         LayerOf&& layer, UnitOf&& unit) {
  const size_t n = pass.local_numel(C);
  if (flow[0] == nullptr) {
    flow[0] = pass.arena.template alloc<T>(n);
    flow[1] = pass.arena.template alloc<T>(n);
  }
  for (int i = count; i-- > 0;) {
    const int b = first + i;
    T* dprev = dx == flow[0] ? flow[1] : flow[0];
    std::fill(dprev, dprev + n, T(0));
    in_unit(pass, unit(b), Use::backward, i > 0 ? unit(b - 1) : -1, true,
            [&] { layer(b)->backward(pass, dx, dprev); });
    dx = dprev;
  }
  return dx;
}

// The per-token losses of the logits `probs` (which become the probabilities), saved in the
// record under (module, probs_slot) and (module, losses_slot); returns their sum.
template <typename T>
double cross_entropy_sum(Pass<T>& pass, T* probs, const parallel::tensor::VocabPart& part,
                         int module, int probs_slot, int losses_slot) {
  // The tokens of the logits' rows: every one, or on a grid the grid row's.
  const size_t N = pass.product_tokens();
  T* losses = pass.arena.template alloc<T>(N);
  parallel::tensor::vocab_parallel_xent_forward(
      pass, losses, probs, pass.record.targets + pass.first_token(), static_cast<int>(N), part);
  pass.record.save(module, probs_slot, probs);
  pass.record.save(module, losses_slot, losses);
  // Tokens of rows past pass.counted_rows (padding) count nothing.
  const size_t counted = pass.counted_rows < 0
                             ? N
                             : std::clamp<size_t>(static_cast<size_t>(pass.counted_rows) *
                                                      static_cast<size_t>(pass.Tn),
                                                  pass.first_token(), pass.first_token() + N) -
                                   pass.first_token();
  double sum = 0.0;
  for (size_t i = 0; i < counted; ++i) {
    sum += static_cast<double>(losses[i]);
  }
  return parallel::tensor::tp_total_loss(pass, sum);
}

}  // namespace parti::model

// The Module interface: explicit forward and backward (llm.c's contract, DESIGN principle 3).
//   declare   registers the module's parameters (names, global shapes) in the ParamTable.
//   forward   reads `in`, writes `out`, saves what backward needs in pass.record (this
//             micro-batch's ActivationRecord), taking its buffers from pass.arena.
//   backward  reads the record, accumulates (+=) into dinp and into the parameter gradients.
// Activations are (B, T, C) row-major in the arena; B and T come from the Pass, C from the module.
// Modules own no memory: parameters and gradients live in flat buffers the Pass points at, so
// data parallelism and ZeRO can hand a module a bucket or a gathered shard without touching it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "parti/core/arena.h"
#include "parti/core/check.h"
#include "parti/model/param_table.h"

namespace parti::model {

// Saved tensors of one micro-batch: a few pointers per module, indexed by the module's slot.
template <typename T>
class ActivationRecord {
 public:
  static constexpr int kSlots = 6;
  explicit ActivationRecord(int modules) : saved_(static_cast<size_t>(modules)) {}
  void save(int module, int slot, const T* tensor) {
    saved_.at(static_cast<size_t>(module))[static_cast<size_t>(slot)] = tensor;
  }
  const T* get(int module, int slot) const {
    const T* tensor = saved_.at(static_cast<size_t>(module))[static_cast<size_t>(slot)];
    PARTI_ASSERT(tensor != nullptr, "backward before forward (module ", module, " slot ", slot,
                 ")");
    return tensor;
  }

  // The micro-batch's token ids and targets (B, T); the model's first and last stages read them.
  const int32_t* tokens = nullptr;
  const int32_t* targets = nullptr;

 private:
  std::vector<std::array<const T*, kSlots>> saved_;
};

// Everything one forward or backward call of one micro-batch needs; no globals.
template <typename T>
struct Pass {
  int B;   // micro-batch rows
  int Tn;  // tokens per row
  const ParamTable& table;
  T* params;           // flat parameter buffer (table.total())
  T* grads;            // flat gradient buffer, same offsets
  core::Arena& arena;  // activations and scratch of this micro-batch
  ActivationRecord<T>& record;
  // Told, during backward, each flat range [begin, end) of grads that is final (data parallelism
  // starts reducing it; an empty range only gives it a chance to progress); null when nobody
  // listens.
  const std::function<void(size_t, size_t)>* grads_ready = nullptr;

  size_t tokens() const { return static_cast<size_t>(B) * static_cast<size_t>(Tn); }
  T* param(int ref) const { return params + table.spec(ref).offset; }
  T* grad(int ref) const { return grads + table.spec(ref).offset; }
};

template <typename T>
class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;
  virtual void forward(Pass<T>& pass, const T* in, T* out) = 0;      // in, out (B, T, C)
  virtual void backward(Pass<T>& pass, const T* dout, T* dinp) = 0;  // dinp (B, T, C) +=
};

}  // namespace parti::model

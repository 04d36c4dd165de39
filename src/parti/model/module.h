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
#include "parti/parallel/context/context.h"
#include "parti/parallel/tensor/context.h"

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

template <typename T>
struct Pass;
template <typename T>
class DeferredGrads;  // deferred_grads.h
template <typename T>
class KvCache;  // kv_cache.h

// Activation recomputation: none keeps everything backward needs; full keeps only each block's
// input and runs the block's forward again just before its backward; selective keeps the
// products and recomputes the attention core (softmax(q k^T) per head, the T x T part).
enum class Recompute { none, full, selective };

// How a model uses a unit of its parameters (a contiguous range of the flat buffers: the
// embeddings, a block, the final norm; FSDP's units).
enum class Use {
  forward,         // reads the unit's parameters
  backward,        // reads its parameters, accumulates into its gradients
  backward_input,  // a backward's input-gradient part (I): reads its parameters; the gradients
                   // come later, in W (deferred_grads.h)
  grads_only,      // accumulates into its gradients, reads no parameter (embedding backward, W)
};
// Whether a use writes the unit's gradients.
inline bool writes_grads(Use use) { return use == Use::backward || use == Use::grads_only; }

// Told when a model starts and stops using each unit, so data parallelism can reduce a unit's
// gradients as soon as they are final and ZeRO can gather its parameters just before they are
// needed (prefetching the next). enter() may repoint pass.params / pass.grads at buffers that
// hold only this unit (setting params_origin / grads_origin to the unit's first flat offset).
template <typename T>
class UnitHooks {
 public:
  virtual ~UnitHooks() = default;
  // `next`: the unit whose parameters the model reads after this one (-1: none).
  virtual void enter(Pass<T>& pass, int unit, Use use, int next) = 0;
  // `final`: the unit's gradients of this micro-batch are complete.
  virtual void leave(Pass<T>& pass, int unit, Use use, bool final) = 0;

  // A unit whose gradient is too large to hold whole (the tied embedding under ZeRO 2-3) can be
  // taken by pieces: when by_pieces(unit), backward accumulates none of that unit's gradients
  // and, once everything it needs is computed, calls reduce_by_pieces with a function that
  // writes the unit's gradient over any flat range [begin, end) into out (end - begin).
  using PieceFn = std::function<void(size_t begin, size_t end, T* out)>;
  virtual bool by_pieces(int /*unit*/) const { return false; }
  virtual void reduce_by_pieces(Pass<T>& /*pass*/, int /*unit*/, const PieceFn& /*grad*/) {}

  // Likewise for parameters (the embeddings under ZeRO-3): when params_by_pieces(unit), the model
  // reads none of that unit's parameters through pass.params (and neither enters nor announces
  // it) but calls visit_params, which calls fn(begin, end, values) for consecutive pieces of
  // whole rows covering the unit.
  using ParamsFn = std::function<void(size_t begin, size_t end, const T* values)>;
  virtual bool params_by_pieces(int /*unit*/) const { return false; }
  virtual void visit_params(Pass<T>& /*pass*/, int /*unit*/, const ParamsFn& /*fn*/) {}
};

// Everything one forward or backward call of one micro-batch needs; no globals.
template <typename T>
struct Pass {
  int B;   // micro-batch rows
  int Tn;  // tokens per row
  const ParamTable& table;
  T* params;           // flat parameter buffer; element `offset` at params[offset - params_origin]
  T* grads;            // flat gradient buffer, likewise
  core::Arena& arena;  // activations and scratch of this micro-batch
  ActivationRecord<T>& record;
  UnitHooks<T>* hooks = nullptr;  // null: whole buffers, nobody listens
  size_t params_origin = 0;
  size_t grads_origin = 0;
  // Tensor parallelism (parallel/tensor/context.h): the layer's context when the table was built
  // for tp > 1 (then required), else null. Layers reach the group only through the mappings.
  const parallel::tensor::TensorParallel* tp = nullptr;
  // Scratch for what lives only inside one sublayer (gathered inputs, partial sums before their
  // reduction), taken and released in stack order; null: taken from `arena` for the micro-batch.
  core::Arena* workspace = nullptr;
  Recompute recompute = Recompute::none;
  // Zero-bubble schedules: linear layers queue their weight gradients here instead of computing
  // them (deferred_grads.h); null: computed in backward.
  DeferredGrads<T>* deferred = nullptr;
  // Context parallelism (parallel/context/context.h): attention runs around the cp ring; null:
  // over the pass's own tokens.
  const parallel::context::ContextParallel* cp = nullptr;
  // Rows whose losses count (the first ones; -1: all): evaluation pads a short last batch to
  // what a grid's rows divide, and the padding counts nothing.
  int counted_rows = -1;
  // The global position of each of a row's Tn tokens (under cp its two chunks); null: 0 .. Tn-1.
  const int32_t* positions = nullptr;
  // Generation: the keys and values of the positions before this pass's (kv_cache.h); null: none.
  KvCache<T>* kv = nullptr;
  int position(int t) const { return positions != nullptr ? positions[t] : t; }
  int cp_size() const { return cp != nullptr ? cp->size : 1; }
  // Sequence parallelism: between sublayers this rank holds local_tokens() of the B*T tokens,
  // the r-th contiguous chunk in (B, T) order.
  bool sp() const { return tp != nullptr && tp->sp; }
  // Block partitioning: this rank reads rows() of the B rows (its grid row's part) and, between
  // sublayers, local_width(C) of a width C.
  bool block() const { return tp != nullptr && tp->grid > 1; }
  int rows() const { return block() ? B / tp->grid : B; }
  int local_width(int C) const { return block() ? C / tp->grid : C; }

  size_t tokens() const { return static_cast<size_t>(B) * static_cast<size_t>(Tn); }
  // The tokens a linear layer's product reads: every one under 1D tensor parallelism (gathered
  // under sp), the grid row's under block partitioning.
  size_t product_tokens() const { return static_cast<size_t>(rows()) * static_cast<size_t>(Tn); }
  size_t local_tokens() const {
    return sp() ? tokens() / static_cast<size_t>(tp->size) : product_tokens();
  }
  // The first of the B*T tokens whose rows this rank's products read (its grid row's).
  size_t first_token() const {
    return block() ? static_cast<size_t>(tp->row) * product_tokens() : 0;
  }
  // Elements of a (tokens, C) activation between sublayers on this rank.
  size_t local_numel(int C) const { return local_tokens() * static_cast<size_t>(local_width(C)); }
  T* param(int ref) const { return params + (table.spec(ref).offset - params_origin); }
  T* grad(int ref) const { return grads + (table.spec(ref).offset - grads_origin); }
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

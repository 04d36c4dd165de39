// The model interface (issue #16): all that data parallelism, the pipeline executor, the trainer,
// checkpoints, evaluation and generation know of a model family. A family (model/gpt2/, ...)
// implements it and registers a factory (registry.h); nothing outside its folder names its class.
//
// A model is built for one process's share of the work: a tensor-parallel rank (the ParamTable
// keeps that rank's part of every parameter) and a list of chunks (pipeline parallelism: the
// layer ranges this stage runs). Its parameters tile flat buffers in units, contiguous ranges
// that ZeRO shards and that backward finishes one after another:
//
//   units    [ embeddings | block 0 | block 1 | ... | block L-1 | final norm ]    (flat order)
//   chunks   forward_chunk(c) reads the previous chunk's output (local tokens x C), backward_chunk
//            returns the gradient at the chunk's input; the first chunk starts from the token ids,
//            the last ends with the loss.
//
// While it runs a unit, a model tells pass.hooks (UnitHooks in module.h), so data parallelism can
// reduce gradients and gather parameters unit by unit without the model knowing about either.
#pragma once

#include <cstddef>
#include <vector>

#include "parti/model/config.h"
#include "parti/model/deferred_grads.h"
#include "parti/model/module.h"
#include "parti/model/param_table.h"

namespace parti::model {

// Consecutive layers [first_layer, first_layer + layers) of the model, run as one piece.
struct Chunk {
  int first_layer = 0;
  int layers = 0;
  bool embedding = false;  // the model's first chunk: starts with the lookup of the token ids
  bool head = false;       // the last: ends with the final norm, logits and loss
};

// The chunks of a split (layers per chunk, summing to the model's), in model order.
std::vector<Chunk> chunks_of(const std::vector<int>& split);

// A unit: the flat range [begin, end) of the parameter (and gradient) buffers.
struct Unit {
  size_t begin, end;
  size_t granule = 1;  // ZeRO cuts it only at multiples of this (the embeddings: whole rows)
  size_t size() const { return end - begin; }
};

template <typename T>
class Model {
 public:
  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;
  virtual const ParamTable& table() const = 0;
  // The chunks this process holds, in model order (the whole model: one chunk with both ends).
  virtual const std::vector<Chunk>& chunks() const = 0;
  // The units, in flat order; they tile [0, table().total()).
  virtual const std::vector<Unit>& units() const = 0;
  // The unit holding the token embedding (-1: not held here). It is the largest (vocabulary x
  // width), so ZeRO 2-3 may take its gradient, and ZeRO-3 hand its parameters, by pieces of whole
  // rows (UnitHooks::by_pieces, params_by_pieces) instead of whole.
  virtual int embedding_unit() const = 0;
  // The parameter shared by the input embedding and the output projection, when this process
  // holds it (-1: none, or untied). Under pipelining the first and last stage each hold a copy,
  // whose gradients the pipeline adds.
  virtual int tied_param() const = 0;

  // One chunk (an index into chunks()) of one micro-batch, each with its own record (tokens and
  // targets set, B x T with T <= seq_len): forward_chunk reads `in` (local tokens x C; ignored by
  // the first chunk) and returns its output in the arena, or for the last chunk null after adding
  // the sum of its token losses to *loss. backward_chunk reads `dout` (ignored by the last chunk,
  // which starts from dloss: the gradient of dloss * sum of token losses) and returns the gradient
  // at its input (null for the first chunk). With pass.deferred, linear layers leave their weight
  // gradients queued there, and the units are not final until backward_weight runs the queue.
  virtual const T* forward_chunk(Pass<T>& pass, int chunk, const T* in, double* loss) = 0;
  virtual const T* backward_chunk(Pass<T>& pass, int chunk, const T* dout, T dloss) = 0;
  virtual void backward_weight(Pass<T>& pass, DeferredGrads<T>& deferred) = 0;

  // Logits (B, T, Vp) of record.tokens without backward (generation, evaluation of one process):
  // at tp > 1 this rank's vocab_rows() columns, from vocab_first().
  virtual const T* logits(Pass<T>& pass) = 0;
  virtual int vocab_first() const = 0;
  virtual int vocab_rows() const = 0;
  // Per-token losses (B*T) of the last forward.
  virtual const T* losses(const Pass<T>& pass) const = 0;

  // Model FLOPs per trained token (forward + backward, no recomputation) at this context length.
  virtual double flops_per_token(int seq_len) const = 0;

  // The whole model (one chunk holding both ends): the sum of the token losses; the gradients of
  // dloss * that sum accumulated into pass.grads.
  double forward(Pass<T>& pass) {
    PARTI_ASSERT(whole(), "forward of a model cut into pipeline chunks: use forward_chunk");
    double sum = 0.0;
    forward_chunk(pass, 0, nullptr, &sum);
    return sum;
  }
  void backward(Pass<T>& pass, T dloss) {
    PARTI_ASSERT(whole(), "backward of a model cut into pipeline chunks: use backward_chunk");
    backward_chunk(pass, 0, nullptr, dloss);
  }
  bool whole() const { return chunks().size() == 1 && chunks()[0].embedding && chunks()[0].head; }
};

}  // namespace parti::model

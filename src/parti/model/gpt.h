// GPT-2: token + position embedding, L pre-LN blocks, final LayerNorm, output projection tied to
// the token embedding, fused softmax cross-entropy.
//   x0 = wte[tokens] + wpe[t]                  (B, T, C)
//   x_{l+1} = block_l(x_l)                     (B, T, C)
//   logits = ln_f(x_L) wte^T                   (B, T, Vp)   columns V..Vp-1 masked in the loss
// Parameter names and shapes are Hugging Face's GPT2Model ones without the "transformer." prefix.
// Tensor parallelism (built for a TpRank, run with pass.tp): the blocks split heads and MLP
// units (attention.h, mlp.h); wte is split by vocabulary rows, the lookup masks the other
// ranks' ids and all-reduces, the output projection gives each rank its vocabulary columns of
// the logits and the cross-entropy works on those (vocabulary-parallel, never whole rows).
// Pipeline parallelism (built for a list of chunks, run chunk by chunk): a process holds only its
// chunks' blocks; the one holding chunk 0 also the lookup (wte, wpe), the one holding the last
// chunk the final norm and the tied output projection (its own copy of wte, whose gradient the
// pipeline all-reduces with the first stage's). Parameter names stay the global ones ("h.7").
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "parti/model/block.h"
#include "parti/model/config.h"
#include "parti/model/deferred_grads.h"
#include "parti/model/layernorm.h"

namespace parti::model {

// Consecutive layers [first_layer, first_layer + layers) of the model, run as one piece.
struct GptChunk {
  int first_layer = 0;
  int layers = 0;
  bool embedding = false;  // the model's first chunk: starts with the lookup
  bool head = false;       // the last: ends with the final norm, logits and loss
};

// The chunks of a split (blocks per chunk, summing to the layers), in model order.
std::vector<GptChunk> chunks_of(const std::vector<int>& split);

template <typename T>
class Gpt {
 public:
  // `chunks`: the model's chunks this process holds, in model order (empty: the whole model).
  explicit Gpt(const GptConfig& cfg, TpRank tp = {}, std::vector<GptChunk> chunks = {});
  const GptConfig& config() const { return cfg_; }
  const ParamTable& table() const { return table_; }

  // Forward of one micro-batch (record.tokens and record.targets set, B x T with T <= seq_len).
  // Returns the sum of the B*T token losses; the probabilities stay in the record for backward.
  double forward(Pass<T>& pass);
  // Accumulates parameter gradients of (dloss * sum of token losses) into pass.grads.
  void backward(Pass<T>& pass, T dloss);
  // Logits (B, T, Vp) of record.tokens, for generation and evaluation without backward (at
  // tp > 1 this rank's vocab_rows() columns, from vocab_first()).
  const T* logits(Pass<T>& pass);
  // Per-token losses (B*T) of the last forward.
  const T* losses(const Pass<T>& pass) const { return pass.record.get(id_, kLosses); }

  // One chunk (an index into chunks()) of one micro-batch, each with its own record:
  // forward_chunk reads `in` (local tokens x C; ignored by the embedding chunk, which reads
  // record.tokens) and returns its output in the arena (null for the head chunk, which adds its
  // loss sum to *loss instead). backward_chunk reads `dout` (ignored by the head chunk, which
  // starts from dloss) and returns the gradient at the chunk's input (null for the embedding
  // chunk). With pass.deferred, linear layers leave their weight gradients queued there, and the
  // units are not final until backward_weight runs the queue.
  const std::vector<GptChunk>& chunks() const { return chunks_; }
  const T* forward_chunk(Pass<T>& pass, int chunk, const T* in, double* loss);
  const T* backward_chunk(Pass<T>& pass, int chunk, const T* dout, T dloss);
  void backward_weight(Pass<T>& pass, DeferredGrads<T>& deferred);
  // The tied embedding's index in the table (-1 when no chunk here needs it).
  int wte() const { return wte_; }

  // The units of pass.hooks, in flat-buffer order (they tile [0, table.total())): the
  // embeddings (wte, wpe), then each block, then the final norm.
  struct Range {
    size_t begin, end;
    size_t granule = 1;  // the embeddings: whole rows (ZeRO cuts them between rows)
  };
  const std::vector<Range>& units() const { return units_; }
  static constexpr int kEmbeddingUnit = 0;  // when the process holds wte
  int vocab_first() const { return vocab_first_; }
  int vocab_rows() const { return vocab_rows_; }

 private:
  enum Saved { kX0, kXL, kXf, kProbs, kLosses };
  // The pieces of forward and backward (the head: from the last block's output to the loss).
  T* embed(Pass<T>& pass, int next);
  const T* run_blocks(Pass<T>& pass, int chunk, const T* x);
  const T* head_logits(Pass<T>& pass, const T* x, bool backward_follows);
  double cross_entropy(Pass<T>& pass, T* probs);
  T* head_backward(Pass<T>& pass, T dloss, T* flow[2]);  // allocates flow; returns flow[0]
  void embedding_backward(Pass<T>& pass, const T* dx);
  bool whole() const { return chunks_.size() == 1 && chunks_[0].embedding && chunks_[0].head; }
  // The embedding unit's gradient over the flat range [begin, end) into out, from this
  // micro-batch's record (dlogits, ln_f output, tokens) and dx0, the gradient at the embedding
  // output: wte rows get dlogits^T xf plus the looked-up rows of dx0, wpe rows their dx0 sums.
  void embedding_grad_piece(const Pass<T>& pass, const T* dx0, size_t begin, size_t end,
                            T* out) const;
  // x += the lookups of the embedding rows inside the piece [begin, end) (values).
  void embedding_forward_piece(const Pass<T>& pass, size_t begin, size_t end, const T* values,
                               T* x) const;
  // Calls rows(r0, r1, values of rows r0..r1) for the whole wte rows inside a piece.
  template <typename Rows>
  void for_wte_rows(size_t begin, size_t end, const T* values, Rows&& rows) const;
  // Tensor-parallel embedding backward: this rank's wte rows and all of wpe, from dx0.
  void embedding_backward_part(const Pass<T>& pass, const T* dx0) const;
  // Units: the embeddings (when wte is here), the local blocks, the final norm (head).
  int block_unit(int b) const { return (wte_ >= 0 ? 1 : 0) + b; }
  int final_unit() const { return static_cast<int>(units_.size()) - 1; }
  int first_block(int chunk) const { return chunk_block_[static_cast<size_t>(chunk)]; }
  GptConfig cfg_;
  std::vector<GptChunk> chunks_;
  std::vector<int> chunk_block_;  // per chunk, its first local block
  ParamTable table_;
  int id_;
  int wte_ = -1, wpe_ = -1;
  int vocab_first_ = 0, vocab_rows_ = 0, vocab_valid_ = 0;  // this rank's wte rows (and real)
  std::vector<std::unique_ptr<Block<T>>> blocks_;
  std::unique_ptr<LayerNorm<T>> ln_f_;
  std::vector<Range> units_;
};

}  // namespace parti::model

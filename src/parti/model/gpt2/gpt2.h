// GPT-2: token + position embedding, L pre-LN blocks, final LayerNorm, output projection tied to
// the token embedding, fused softmax cross-entropy.
//   x0 = wte[tokens] + wpe[t]                  (B, T, C)
//   x_{l+1} = block_l(x_l)                     (B, T, C)
//   logits = ln_f(x_L) wte^T                   (B, T, Vp)   columns V..Vp-1 masked in the loss
// Parameter names and shapes are Hugging Face's GPT2Model ones without the "transformer." prefix.
// Tensor parallelism (built for a TpRank, run with a pass.tp context): the blocks split heads and
// MLP units (attention.h, mlp.h); wte is split by vocabulary rows, the lookup masks the other
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

#include "parti/model/config.h"
#include "parti/model/deferred_grads.h"
#include "parti/model/gpt2/block.h"
#include "parti/model/gpt2/layernorm.h"
#include "parti/model/layer_stack.h"
#include "parti/model/model.h"
#include "parti/parallel/tensor/vocab_cross_entropy.h"

namespace parti::model::gpt2 {

template <typename T>
class Gpt2 final : public Model<T> {
 public:
  // `chunks`: the model's chunks this process holds, in model order (empty: the whole model).
  explicit Gpt2(const ModelConfig& cfg, TpRank tp = {}, std::vector<Chunk> chunks = {});
  using Model<T>::forward;
  using Model<T>::backward;
  const ModelConfig& config() const override { return cfg_; }
  const ParamTable& table() const override { return table_; }
  const std::vector<Chunk>& chunks() const override { return chunks_; }
  // wte (when a chunk here needs it), wpe (the first chunk), each block, the final norm (head).
  const std::vector<Unit>& units() const override { return units_; }
  int embedding_unit() const override { return wte_ >= 0 ? 0 : -1; }
  int tied_param() const override { return wte_; }
  const T* forward_chunk(Pass<T>& pass, int chunk, const T* in, double* loss) override;
  const T* backward_chunk(Pass<T>& pass, int chunk, const T* dout, T dloss) override;
  void backward_weight(Pass<T>& pass, DeferredGrads<T>& deferred) override;
  const T* logits(Pass<T>& pass) override;
  int vocab_first() const override { return vocab_first_; }
  int vocab_rows() const override { return vocab_rows_; }
  const T* losses(const Pass<T>& pass) const override { return pass.record.get(id_, kLosses); }
  double flops_per_token(int seq_len) const override {
    return model::flops_per_token(cfg_, seq_len);
  }

 private:
  enum Saved { kX0, kXL, kXf, kProbs, kLosses };
  // The pieces of forward and backward (the head: from the last block's output to the loss).
  T* embed(Pass<T>& pass, int next);
  const T* run_blocks(Pass<T>& pass, int chunk, const T* x);
  const T* head_logits(Pass<T>& pass, const T* x, bool backward_follows);
  parallel::tensor::VocabPart vocab_part() const {
    return {vocab_first_, vocab_rows_, vocab_valid_, cfg_.vocab, cfg_.padded_vocab()};
  }
  T* head_backward(Pass<T>& pass, T dloss, T* flow[2]);  // allocates flow; returns flow[0]
  // The lookup's gradients from dx, the gradient at the embedding output (with `head`, this
  // pass ran the output projection too: wte's gradient gets its part).
  void embedding_backward(Pass<T>& pass, const T* dx, bool head);
  using Model<T>::whole;
  // wte's gradient over the flat range [begin, end) of its unit into out, from this
  // micro-batch's record: with `head` the output projection's dlogits^T xf, with dx0 (the
  // gradient at the embedding output; null: none here) the looked-up rows.
  void embedding_grad_piece(const Pass<T>& pass, const T* dx0, bool head, size_t begin, size_t end,
                            T* out) const;
  // x += the lookups of the embedding rows inside the piece [begin, end) (values).
  void embedding_forward_piece(const Pass<T>& pass, size_t begin, size_t end, const T* values,
                               T* x) const;
  // Calls rows(r0, r1, values of rows r0..r1) for the whole wte rows inside a piece.
  template <typename Rows>
  void for_wte_rows(size_t begin, size_t end, const T* values, Rows&& rows) const;
  // Tensor-parallel embedding backward: this rank's wte rows and all of wpe, from dx0.
  void embedding_backward_part(const Pass<T>& pass, const T* dx0) const;
  // Block partitioning (grid.cpp): the lookup and its gradients on the grid.
  T* embed_grid(Pass<T>& pass, int next);
  void embedding_backward_grid(Pass<T>& pass, const T* dx);
  // Units: wte (when a chunk here needs it), wpe (the first chunk), the local blocks, the final
  // norm (the head).
  int wpe_unit() const { return wpe_ >= 0 ? 1 : -1; }
  int block_unit(int b) const { return (wte_ >= 0 ? 1 : 0) + (wpe_ >= 0 ? 1 : 0) + b; }
  int final_unit() const { return static_cast<int>(units_.size()) - 1; }
  int first_block(int chunk) const { return chunk_block_[static_cast<size_t>(chunk)]; }
  ModelConfig cfg_;
  std::vector<Chunk> chunks_;
  std::vector<int> chunk_block_;  // per chunk, its first local block
  ParamTable table_;
  int id_;
  int wte_ = -1, wpe_ = -1;
  int vocab_first_ = 0, vocab_rows_ = 0, vocab_valid_ = 0;  // this rank's wte rows (and real)
  std::vector<std::unique_ptr<Block<T>>> blocks_;
  std::unique_ptr<LayerNorm<T>> ln_f_;
  std::vector<Unit> units_;
};

}  // namespace parti::model::gpt2

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
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "parti/model/block.h"
#include "parti/model/config.h"
#include "parti/model/layernorm.h"

namespace parti::model {

template <typename T>
class Gpt {
 public:
  explicit Gpt(const GptConfig& cfg, TpRank tp = {});
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

  // The units of pass.hooks, in flat-buffer order (they tile [0, table.total())): the
  // embeddings (wte, wpe), then each block, then the final norm.
  struct Range {
    size_t begin, end;
    size_t granule = 1;  // the embeddings: whole rows (ZeRO cuts them between rows)
  };
  const std::vector<Range>& units() const { return units_; }
  static constexpr int kEmbeddingUnit = 0;
  int vocab_first() const { return vocab_first_; }
  int vocab_rows() const { return vocab_rows_; }

 private:
  enum Saved { kX0, kXL, kXf, kProbs, kLosses };
  const T* logits(Pass<T>& pass, bool backward_follows);
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
  int block_unit(int l) const { return 1 + l; }
  int final_unit() const { return cfg_.layers + 1; }
  GptConfig cfg_;
  ParamTable table_;
  int id_;
  int wte_, wpe_;
  int vocab_first_ = 0, vocab_rows_ = 0, vocab_valid_ = 0;  // this rank's wte rows (and real)
  std::vector<std::unique_ptr<Block<T>>> blocks_;
  std::unique_ptr<LayerNorm<T>> ln_f_;
  std::vector<Range> units_;
};

}  // namespace parti::model

// GPT-2: token + position embedding, L pre-LN blocks, final LayerNorm, output projection tied to
// the token embedding, fused softmax cross-entropy.
//   x0 = wte[tokens] + wpe[t]                  (B, T, C)
//   x_{l+1} = block_l(x_l)                     (B, T, C)
//   logits = ln_f(x_L) wte^T                   (B, T, Vp)   columns V..Vp-1 masked in the loss
// Parameter names and shapes are Hugging Face's GPT2Model ones without the "transformer." prefix.
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
  explicit Gpt(const GptConfig& cfg);
  const GptConfig& config() const { return cfg_; }
  const ParamTable& table() const { return table_; }

  // Forward of one micro-batch (record.tokens and record.targets set, B x T with T <= seq_len).
  // Returns the sum of the B*T token losses; the probabilities stay in the record for backward.
  double forward(Pass<T>& pass);
  // Accumulates parameter gradients of (dloss * sum of token losses) into pass.grads.
  void backward(Pass<T>& pass, T dloss);
  // Logits (B, T, Vp) of record.tokens, for generation and evaluation without backward.
  const T* logits(Pass<T>& pass);
  // Per-token losses (B*T) of the last forward.
  const T* losses(const Pass<T>& pass) const { return pass.record.get(id_, kLosses); }

 private:
  enum Saved { kX0, kXL, kXf, kProbs, kLosses };
  GptConfig cfg_;
  ParamTable table_;
  int id_;
  int wte_, wpe_;
  std::vector<std::unique_ptr<Block<T>>> blocks_;
  std::unique_ptr<LayerNorm<T>> ln_f_;
  // Flat ranges of each part's parameters, for pass.grads_ready: the embeddings (wte, wpe), each
  // block, the final norm. They tile [0, table.total()) in this order.
  struct Range {
    size_t begin, end;
  };
  Range embeddings_{}, ln_f_range_{};
  std::vector<Range> block_ranges_;
};

}  // namespace parti::model

// Llama (Touvron et al. 2023; Llama 3, Grattafiori et al. 2024): token embedding, L pre-RMSNorm
// decoder layers (grouped-query attention with rotary positions, SwiGLU MLP), final RMSNorm,
// output projection (lm_head, or the token embedding when tied).
//   x0 = embed_tokens[tokens]                  (B, T, C)
//   x_{l+1} = layer_l(x_l)                     (B, T, C)
//   logits = norm(x_L) lm_head^T               (B, T, Vp)   columns V..Vp-1 masked in the loss
// Parameter names and layouts are Hugging Face's LlamaForCausalLM ones (`model.embed_tokens`,
// `model.layers.N.self_attn.q_proj` as (out, in), ..., `model.norm`, `lm_head`).
// Tensor parallelism: the layers split heads (query and key/value) and MLP units; the embedding
// and lm_head are split by vocabulary rows (parallel/tensor's VocabParallelEmbedding; the output
// projection gives each rank its vocabulary columns and the cross-entropy works
// on those). Pipeline parallelism: a process holds its chunks' layers; the one holding chunk 0
// also the embedding, the one holding the last chunk the final norm and the projection (tied: a
// copy of the embedding, a unit of its own, whose gradient the pipeline adds to the first's).
// Units: the embedding (when a chunk here needs it), each layer, the head (norm and lm_head).
// ZeRO-3 gathers the embedding and the head whole (GPT-2 takes its embedding by pieces).
#pragma once

#include <memory>
#include <vector>

#include "parti/model/config.h"
#include "parti/model/layer_stack.h"
#include "parti/model/llama/block.h"
#include "parti/model/llama/rmsnorm.h"
#include "parti/model/model.h"
#include "parti/parallel/tensor/vocab_cross_entropy.h"
#include "parti/parallel/tensor/vocab_embedding.h"

namespace parti::model::llama {

template <typename T>
class Llama final : public Model<T> {
 public:
  // `chunks`: the model's chunks this process holds, in model order (empty: the whole model).
  explicit Llama(const ModelConfig& cfg, TpRank tp = {}, std::vector<Chunk> chunks = {});
  const ModelConfig& config() const override { return cfg_; }
  const ParamTable& table() const override { return table_; }
  const std::vector<Chunk>& chunks() const override { return chunks_; }
  const std::vector<Unit>& units() const override { return units_; }
  int embedding_unit() const override { return -1; }  // no unit is taken by pieces
  int tied_param() const override { return cfg_.tie_embeddings ? embed_ : -1; }
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
  enum Saved { kXf, kProbs, kLosses };
  T* embed(Pass<T>& pass, int next);
  const T* run_blocks(Pass<T>& pass, int chunk, const T* x);
  const T* head_logits(Pass<T>& pass, const T* x);
  T* head_backward(Pass<T>& pass, T dloss, T* flow[2]);  // allocates flow; returns flow[0]
  void embedding_backward(Pass<T>& pass, const T* dx);
  parallel::tensor::VocabPart vocab_part() const {
    return {vocab_first_, vocab_rows_, vocab_valid_, cfg_.vocab, cfg_.padded_vocab()};
  }
  using Model<T>::whole;
  // The output projection's weight and its unit.
  int projection() const { return cfg_.tie_embeddings ? embed_ : lm_head_; }
  int projection_unit() const { return cfg_.tie_embeddings ? kEmbedding : head_unit(); }
  static constexpr int kEmbedding = 0;  // the embedding's unit (when held here)
  int block_unit(int b) const { return (embed_ >= 0 ? 1 : 0) + b; }
  int head_unit() const { return static_cast<int>(units_.size()) - 1; }
  int first_block(int chunk) const { return chunk_block_[static_cast<size_t>(chunk)]; }
  ModelConfig cfg_;
  std::vector<Chunk> chunks_;
  std::vector<int> chunk_block_;  // per chunk, its first local layer
  ParamTable table_;
  int id_;
  std::unique_ptr<parallel::tensor::VocabParallelEmbedding<T>> embedding_;
  int embed_ = -1, lm_head_ = -1;  // the embedding's table (when held here), lm_head (untied)
  int vocab_first_ = 0, vocab_rows_ = 0, vocab_valid_ = 0;  // this rank's rows (and real ones)
  std::vector<std::unique_ptr<Block<T>>> blocks_;
  std::unique_ptr<RmsNorm<T>> norm_;
  std::vector<Unit> units_;
};

}  // namespace parti::model::llama

#include "parti/model/llama/llama.h"

#include <algorithm>
#include <string>

#include "parti/parallel/tensor/grid_vocab.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::model::llama {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
template <typename T>
Llama<T>::Llama(const ModelConfig& cfg, TpRank tp, std::vector<Chunk> chunks)
    : cfg_(cfg),
      chunks_(chunks.empty() ? std::vector<Chunk>{{0, cfg.layers, true, true}} : std::move(chunks)),
      table_(tp),
      id_(table_.add_module()) {
  const int C = cfg.dim;
  bool embedding = false, head = false;
  for (const Chunk& c : chunks_) {
    embedding = embedding || c.embedding;
    head = head || c.head;
  }
  // Vocabulary-parallel: tp rank r holds rows [r Vp / tp, (r + 1) Vp / tp) of the embedding and
  // of lm_head.
  const auto vocab_rows = [&](int param) {
    vocab_rows_ = static_cast<int>(table_.spec(param).shape[0]);
    vocab_first_ = vocab_rows_ * tp.col();
    vocab_valid_ = static_cast<int>(table_.spec(param).logical_rows);
  };
  if (embedding || (head && cfg.tie_embeddings)) {
    embedding_ = std::make_unique<VocabParallelEmbedding<T>>(table_, "model.embed_tokens.weight",
                                                             cfg.vocab, cfg.padded_vocab(), C);
    embed_ = embedding_->weight();
    vocab_rows(embed_);
    units_.push_back({0, table_.total(), static_cast<size_t>(C)});
  }
  for (const Chunk& chunk : chunks_) {
    chunk_block_.push_back(static_cast<int>(blocks_.size()));
    for (int l = chunk.first_layer; l < chunk.first_layer + chunk.layers; ++l) {
      const size_t begin = table_.total();
      blocks_.push_back(
          std::make_unique<Block<T>>(table_, "model.layers." + std::to_string(l), cfg));
      units_.push_back({begin, table_.total()});
    }
  }
  if (head) {
    const size_t begin = table_.total();
    norm_ = std::make_unique<RmsNorm<T>>(table_, "model.norm", C, cfg.norm_eps);
    if (!cfg.tie_embeddings) {
      lm_head_ = table_.add("lm_head.weight", {cfg.padded_vocab(), C}, Init::normal, true,
                            cfg.vocab, grid_vocab_cut());
      vocab_rows(lm_head_);
    }
    units_.push_back({begin, table_.total()});
  }
}

template <typename T>
const T* Llama<T>::logits(Pass<T>& pass) {
  PARTI_ASSERT(whole(), "logits of a model cut into pipeline chunks");
  T* x0 = embed(pass, chunks_[0].layers > 0 ? block_unit(0) : head_unit());
  return head_logits(pass, run_blocks(pass, 0, x0));
}

template <typename T>
T* Llama<T>::embed(Pass<T>& pass, int next) {
  PARTI_ASSERT(pass.Tn * pass.cp_size() <= cfg_.seq_len, "sequence of ", pass.Tn * pass.cp_size(),
               " > seq_len ", cfg_.seq_len);
  T* x = pass.arena.template alloc<T>(pass.local_numel(cfg_.dim));
  in_unit(pass, kEmbedding, Use::forward, next, false, [&] { embedding_->forward(pass, x); });
  return x;
}

template <typename T>
const T* Llama<T>::run_blocks(Pass<T>& pass, int chunk, const T* x) {
  const Chunk& ch = chunks_[static_cast<size_t>(chunk)];
  return forward_layers(
      pass, cfg_.dim, first_block(chunk), ch.layers, ch.head ? head_unit() : -1, x,
      [&](int b) { return blocks_[static_cast<size_t>(b)].get(); },
      [&](int b) { return block_unit(b); });
}

template <typename T>
const T* Llama<T>::head_logits(Pass<T>& pass, const T* x) {
  const size_t n = pass.local_numel(cfg_.dim);  // between sublayers
  const size_t n_all = pass.tokens() * static_cast<size_t>(cfg_.dim);
  T* xf = pass.arena.template alloc<T>(n);
  in_unit(pass, head_unit(), Use::forward, projection_unit(), false,
          [&] { norm_->forward(pass, x, xf); });
  if (pass.sp()) {  // sequence parallel: the output projection needs every token
    T* all = pass.arena.template alloc<T>(n_all);
    tp_gather_into(pass, xf, cfg_.dim, all);
    xf = all;
  }
  pass.record.save(id_, kXf, xf);
  T* logits =
      pass.arena.template alloc<T>(pass.product_tokens() * static_cast<size_t>(vocab_rows_));
  in_unit(pass, projection_unit(), Use::forward, -1, false,
          [&] { vocab_projection_forward(pass, projection(), vocab_rows_, cfg_.dim, xf, logits); });
  return logits;
}

template <typename T>
const T* Llama<T>::forward_chunk(Pass<T>& pass, int chunk, const T* in, double* loss) {
  const Chunk& ch = chunks_.at(static_cast<size_t>(chunk));
  const int first = ch.layers > 0 ? block_unit(first_block(chunk)) : head_unit();
  const T* x = ch.embedding ? embed(pass, first) : in;
  x = run_blocks(pass, chunk, x);
  if (!ch.head) {
    return x;
  }
  PARTI_ASSERT(pass.record.targets != nullptr, "forward needs targets");
  *loss += cross_entropy_sum(pass, const_cast<T*>(head_logits(pass, x)), vocab_part(), id_, kProbs,
                             kLosses);
  return nullptr;
}

template <typename T>
const T* Llama<T>::backward_chunk(Pass<T>& pass, int chunk, const T* dout, T dloss) {
  const Chunk& ch = chunks_.at(static_cast<size_t>(chunk));
  T* flow[2] = {nullptr, nullptr};
  const T* dx = ch.head ? head_backward(pass, dloss, flow) : dout;
  dx = backward_layers(
      pass, cfg_.dim, first_block(chunk), ch.layers, dx, flow,
      [&](int b) { return blocks_[static_cast<size_t>(b)].get(); },
      [&](int b) { return block_unit(b); });
  if (!ch.embedding) {
    return dx;
  }
  embedding_backward(pass, dx);
  return nullptr;
}

template <typename T>
void Llama<T>::backward_weight(Pass<T>& pass, DeferredGrads<T>& deferred) {
  deferred.run(pass);
}

template <typename T>
T* Llama<T>::head_backward(Pass<T>& pass, T dloss, T* flow[2]) {
  const size_t n = pass.local_numel(cfg_.dim);  // between sublayers
  const size_t n_all = pass.tokens() * static_cast<size_t>(cfg_.dim);
  const auto N = static_cast<int>(pass.product_tokens());
  // The probabilities become dlogits in place: the record's buffer is ours to reuse.
  T* dlogits = const_cast<T*>(pass.record.get(id_, kProbs));
  vocab_parallel_xent_backward(pass, dlogits, pass.record.targets + pass.first_token(), dloss, N,
                               vocab_part());
  T* dxf = pass.arena.template alloc_zero<T>(n);
  {
    Scratch<T> scratch(pass);
    T* dxf_all = pass.sp() ? scratch.alloc_zero(n_all) : dxf;  // every token's
    // Final only for the last pipeline stage's copy of a tied embedding: otherwise the head's
    // norm follows (untied), or the lookup's part (tied, the whole model).
    const bool final = cfg_.tie_embeddings && !chunks_.front().embedding;
    in_unit(pass, projection_unit(), Use::backward, head_unit(), final, [&] {
      // dlogits and xf live in the micro-batch's arena: a deferred product keeps them.
      vocab_projection_backward(pass, projection(), vocab_rows_, cfg_.dim, dlogits,
                                pass.record.get(id_, kXf), dxf_all);
    });
    // The vocabulary-parallel projection's partial dxf, summed over tp.
    tp_reduce_output(pass, dxf_all, dxf, cfg_.dim);
  }
  flow[0] = pass.arena.template alloc_zero<T>(n);
  flow[1] = pass.arena.template alloc<T>(n);
  const int before =
      chunks_.back().layers > 0 ? block_unit(static_cast<int>(blocks_.size()) - 1) : -1;
  in_unit(pass, head_unit(), Use::backward, before, true,
          [&] { norm_->backward(pass, dxf, flow[0]); });
  return flow[0];
}

template <typename T>
void Llama<T>::embedding_backward(Pass<T>& pass, const T* dx) {
  in_unit(pass, kEmbedding, Use::grads_only, -1, true, [&] { embedding_->backward(pass, dx); });
}

template class Llama<float>;
template class Llama<double>;

}  // namespace parti::model::llama

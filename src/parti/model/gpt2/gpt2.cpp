#include "parti/model/gpt2/gpt2.h"

#include <algorithm>
#include <string>
#include <vector>

#include "parti/kernels/embedding.h"
#include "parti/kernels/gemm.h"
#include "parti/kernels/matmul.h"
#include "parti/parallel/tensor/grid_vocab.h"
#include "parti/parallel/tensor/mappings.h"
#include "parti/parallel/tensor/vocab_cross_entropy.h"

namespace parti::model::gpt2 {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
namespace {
constexpr auto kOutIn = kernels::WeightLayout::out_in;
constexpr int kEmbeddings = 0;  // the embedding unit (when wte is here)

}  // namespace

template <typename T>
Gpt2<T>::Gpt2(const ModelConfig& cfg, TpRank tp, std::vector<Chunk> chunks)
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
  if (embedding || head) {
    // Vocabulary-parallel: tp rank r holds wte rows [r Vp / tp, (r + 1) Vp / tp).
    // On a grid: grid_vocab.h's cut.
    wte_ = table_.add("wte.weight", {cfg.padded_vocab(), C}, Init::normal, true, cfg.vocab,
                      grid_vocab_cut());
    vocab_rows_ = static_cast<int>(table_.spec(wte_).shape[0]);
    vocab_first_ = vocab_rows_ * tp.col();
    vocab_valid_ = static_cast<int>(table_.spec(wte_).logical_rows);
    units_.push_back({0, table_.total(), static_cast<size_t>(C)});
  }
  if (embedding) {
    // A unit of its own: wte's unit is then the same on the first and the last pipeline stage,
    // so ZeRO cuts both copies alike and the tied gradients are added shard by shard.
    const size_t begin = table_.total();
    wpe_ = table_.add("wpe.weight", {cfg.seq_len, C}, Init::normal, true, -1, {.col_dim = 1});
    units_.push_back({begin, table_.total()});
  }
  for (const Chunk& chunk : chunks_) {
    chunk_block_.push_back(static_cast<int>(blocks_.size()));
    for (int l = chunk.first_layer; l < chunk.first_layer + chunk.layers; ++l) {
      const size_t begin = table_.total();
      blocks_.push_back(std::make_unique<Block<T>>(table_, "h." + std::to_string(l), C, cfg.heads));
      units_.push_back({begin, table_.total()});
    }
  }
  if (head) {
    const size_t begin = table_.total();
    ln_f_ = std::make_unique<LayerNorm<T>>(table_, "ln_f", C);
    units_.push_back({begin, table_.total()});
  }
}

template <typename T>
const T* Gpt2<T>::logits(Pass<T>& pass) {
  PARTI_ASSERT(whole(), "logits of a model cut into pipeline chunks");
  T* x0 = embed(pass, chunks_[0].layers > 0 ? block_unit(0) : final_unit());
  return head_logits(pass, run_blocks(pass, 0, x0), false);
}

template <typename T>
T* Gpt2<T>::embed(Pass<T>& pass, int next) {
  PARTI_ASSERT(pass.Tn * pass.cp_size() <= cfg_.seq_len, "sequence of ", pass.Tn * pass.cp_size(),
               " > seq_len ", cfg_.seq_len);
  if (pass.block()) {
    return embed_grid(pass, next);
  }
  const size_t n = pass.local_tokens() * static_cast<size_t>(cfg_.dim);  // between sublayers
  const size_t n_all = pass.tokens() * static_cast<size_t>(cfg_.dim);
  // The hooks may hand the embeddings' parameters by pieces (then they are never announced).
  const bool pieces = pass.hooks != nullptr && pass.hooks->params_by_pieces(kEmbeddings);
  T* x = pass.arena.template alloc<T>(n);
  {
    // Vocabulary-parallel lookup: each rank adds its rows (and tp rank 0 the positions) into
    // zeros; summed over tp (all-reduce, or reduce-scatter of this rank's tokens) every row is
    // wte[token] + wpe[t] again, exactly (the other terms are zeros).
    Scratch<T> scratch(pass);
    T* sum = tp_partial_output(pass, x, cfg_.dim, scratch);
    if (pieces) {
      // ZeRO-3: wte by pieces, then wpe's unit gathered whole; (0 + wte) + wpe is exactly the
      // fused lookup's sum.
      std::fill(sum, sum + n_all, T(0));
      pass.hooks->visit_params(pass, kEmbeddings, [&](size_t begin, size_t end, const T* values) {
        embedding_forward_piece(pass, begin, end, values, sum);
      });
      in_unit(pass, wpe_unit(), Use::forward, next, false, [&] {
        const ParamSpec& wpe = table_.spec(wpe_);
        embedding_forward_piece(pass, wpe.offset, wpe.offset + wpe.numel, pass.param(wpe_), sum);
      });
    } else {
      // Both units at once: only hooks that leave the whole buffers in place come here.
      in_unit(pass, kEmbeddings, Use::forward, wpe_unit(), false, [&] {
        in_unit(pass, wpe_unit(), Use::forward, next, false, [&] {
          if (tp_size(pass) == 1) {
            kernels::embedding_forward<T>(x, pass.record.tokens, pass.param(wte_), pass.param(wpe_),
                                          pass.B, pass.Tn, cfg_.dim, pass.positions);
          } else {
            std::fill(sum, sum + n_all, T(0));
            embedding_forward_piece(pass, table_.spec(wte_).offset,
                                    table_.spec(wpe_).offset + table_.spec(wpe_).numel,
                                    pass.param(wte_), sum);
          }
        });
      });
    }
    tp_reduce_output(pass, sum, x, cfg_.dim);
  }
  pass.record.save(id_, kX0, x);
  return x;
}

template <typename T>
const T* Gpt2<T>::run_blocks(Pass<T>& pass, int chunk, const T* x) {
  const Chunk& ch = chunks_[static_cast<size_t>(chunk)];
  return forward_layers(
      pass, cfg_.dim, first_block(chunk), ch.layers, ch.head ? final_unit() : -1, x,
      [&](int b) { return blocks_[static_cast<size_t>(b)].get(); },
      [&](int b) { return block_unit(b); });
}

template <typename T>
const T* Gpt2<T>::head_logits(Pass<T>& pass, const T* x, bool backward_follows) {
  const size_t n = pass.local_numel(cfg_.dim);  // between sublayers
  const size_t n_all = pass.tokens() * static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  const bool pieces = pass.hooks != nullptr && pass.hooks->params_by_pieces(kEmbeddings);
  const int embeddings_next = pieces ? -1 : kEmbeddings;
  PARTI_ASSERT(!pieces || !pass.block(), "wte by pieces on a grid");
  pass.record.save(id_, kXL, x);
  T* xf = pass.arena.template alloc<T>(n);
  in_unit(pass, final_unit(), Use::forward, embeddings_next, false,
          [&] { ln_f_->forward(pass, x, xf); });
  if (pass.sp()) {  // sequence parallel: the output projection needs every token
    T* all = pass.arena.template alloc<T>(n_all);
    tp_gather_into(pass, xf, cfg_.dim, all);
    xf = all;
  }
  pass.record.save(id_, kXf, xf);
  const int Vp = vocab_rows_;  // this rank's columns of the logits (all at tp = 1)
  T* logits = pass.arena.template alloc<T>(pass.product_tokens() * static_cast<size_t>(Vp));
  if (pieces) {
    // logits[:, rows] = xf wte[rows]^T, piece by piece (wte's rows tile the logits' columns).
    pass.hooks->visit_params(pass, kEmbeddings, [&](size_t begin, size_t end, const T* values) {
      for_wte_rows(begin, end, values, [&](size_t r0, size_t r1, const T* rows) {
        kernels::gemm<T>(kernels::Trans::no, kernels::Trans::yes, N, static_cast<int>(r1 - r0),
                         cfg_.dim, T(1), xf, cfg_.dim, rows, cfg_.dim, T(0), logits + r0, Vp);
      });
    });
    return logits;
  }
  // The output projection reads wte again; backward starts with it, so it stays if one follows.
  in_unit(pass, kEmbeddings, Use::forward, backward_follows ? kEmbeddings : -1, false,
          [&] { vocab_projection_forward(pass, wte_, Vp, cfg_.dim, xf, logits); });
  return logits;
}

template <typename T>
template <typename Rows>
void Gpt2<T>::for_wte_rows(size_t begin, size_t end, const T* values, Rows&& rows) const {
  const ParamSpec& spec = table_.spec(wte_);
  const auto C = static_cast<size_t>(cfg_.dim);
  const size_t lo = std::max(begin, spec.offset);
  const size_t hi = std::min(end, spec.offset + spec.numel);
  if (lo >= hi) {
    return;
  }
  PARTI_ASSERT((lo - spec.offset) % C == 0 && (hi - spec.offset) % C == 0,
               "a piece of wte that is not whole rows");
  rows((lo - spec.offset) / C, (hi - spec.offset) / C, values + (lo - begin));
}

template <typename T>
void Gpt2<T>::embedding_forward_piece(const Pass<T>& pass, size_t begin, size_t end,
                                      const T* values, T* x) const {
  // x = wte[token] + wpe[t] accumulated piece by piece into zeros: wte's rows come before
  // wpe's, so every element is (0 + wte) + wpe, exactly the whole-buffer sum.
  const auto C = static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  auto add_rows = [&](const ParamSpec& spec, auto&& row_of) {
    const size_t lo = std::max(begin, spec.offset);
    const size_t hi = std::min(end, spec.offset + spec.numel);
    if (lo >= hi) {
      return;
    }
#pragma omp parallel for schedule(static)
    for (int bt = 0; bt < N; ++bt) {
      const size_t row = row_of(bt);
      const size_t at = spec.offset + row * C;  // the row's first flat element
      if (row < static_cast<size_t>(spec.shape[0]) && at >= lo && at + C <= hi) {
        const T* v = values + (at - begin);
        T* out = x + static_cast<size_t>(bt) * C;
        for (size_t c = 0; c < C; ++c) {
          out[c] += v[c];
        }
      }
    }
  };
  // Tensor-parallel: only the tokens whose rows this rank holds (others look up nothing here),
  // and the positions on tp rank 0 alone.
  add_rows(table_.spec(wte_), [&](int bt) {
    return static_cast<size_t>(pass.record.tokens[bt] - vocab_first_);  // wraps when below
  });
  if (table_.tp().index == 0) {
    add_rows(table_.spec(wpe_),
             [&](int bt) { return static_cast<size_t>(pass.position(bt % pass.Tn)); });
  }
}

template <typename T>
const T* Gpt2<T>::forward_chunk(Pass<T>& pass, int chunk, const T* in, double* loss) {
  const Chunk& ch = chunks_.at(static_cast<size_t>(chunk));
  const int first = ch.layers > 0 ? block_unit(first_block(chunk)) : final_unit();
  const T* x = ch.embedding ? embed(pass, first) : in;
  x = run_blocks(pass, chunk, x);
  if (!ch.head) {
    return x;
  }
  PARTI_ASSERT(pass.record.targets != nullptr, "forward needs targets");
  *loss += cross_entropy_sum(pass, const_cast<T*>(head_logits(pass, x, true)), vocab_part(), id_,
                             kProbs, kLosses);
  return nullptr;
}

template <typename T>
const T* Gpt2<T>::backward_chunk(Pass<T>& pass, int chunk, const T* dout, T dloss) {
  const Chunk& ch = chunks_.at(static_cast<size_t>(chunk));
  T* flow[2] = {nullptr, nullptr};
  const T* dx = ch.head ? head_backward(pass, dloss, flow) : dout;
  dx = backward_layers(
      pass, cfg_.dim, first_block(chunk), ch.layers, dx, flow,
      [&](int b) { return blocks_[static_cast<size_t>(b)].get(); },
      [&](int b) { return block_unit(b); });
  if (ch.embedding) {
    embedding_backward(pass, dx, ch.head);
    return nullptr;
  }
  if (ch.head && pass.hooks != nullptr && pass.hooks->by_pieces(kEmbeddings)) {
    // The last pipeline stage's copy of wte: the output projection's part alone.
    pass.hooks->reduce_by_pieces(pass, kEmbeddings, [&](size_t begin, size_t end, T* out) {
      embedding_grad_piece(pass, nullptr, true, begin, end, out);
    });
  }
  return dx;
}

template <typename T>
void Gpt2<T>::backward_weight(Pass<T>& pass, DeferredGrads<T>& deferred) {
  deferred.run(pass);
}

template <typename T>
T* Gpt2<T>::head_backward(Pass<T>& pass, T dloss, T* flow[2]) {
  const size_t n = pass.local_numel(cfg_.dim);  // between sublayers
  const size_t n_all = pass.tokens() * static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  // The probabilities become dlogits in place: the record's buffer is ours to reuse.
  T* dlogits = const_cast<T*>(pass.record.get(id_, kProbs));
  vocab_parallel_xent_backward(pass, dlogits, pass.record.targets + pass.first_token(), dloss,
                               static_cast<int>(pass.product_tokens()), vocab_part());
  T* dxf = pass.arena.template alloc_zero<T>(n);
  // The hooks may take the embedding unit's gradient by pieces at the end instead.
  const bool pieces = pass.hooks != nullptr && pass.hooks->by_pieces(kEmbeddings);
  PARTI_ASSERT(!pieces || !pass.block(), "wte's gradient by pieces on a grid");
  {
    Scratch<T> dxf_scratch(pass);
    T* dxf_all = pass.sp() ? dxf_scratch.alloc_zero(n_all) : dxf;  // every token's
    // wte's gradient gets its second part from the embedding backward at the end: not final yet.
    if (pass.hooks != nullptr && pass.hooks->params_by_pieces(kEmbeddings)) {
      // dxf = dlogits wte, piece by piece (the weight gradient is then taken by pieces too).
      PARTI_ASSERT(pieces, "embedding parameters by pieces need their gradient by pieces");
      const int Vp = vocab_rows_;
      pass.hooks->visit_params(pass, kEmbeddings, [&](size_t begin, size_t end, const T* values) {
        for_wte_rows(begin, end, values, [&](size_t r0, size_t r1, const T* rows) {
          kernels::gemm<T>(kernels::Trans::no, kernels::Trans::no, N, cfg_.dim,
                           static_cast<int>(r1 - r0), T(1), dlogits + r0, Vp, rows, cfg_.dim, T(1),
                           dxf_all, cfg_.dim);
        });
      });
    } else {
      in_unit(pass, kEmbeddings, Use::backward, final_unit(), false, [&] {
        if (pieces) {
          kernels::matmul_backward<T>(dxf_all, nullptr, nullptr, dlogits, pass.record.get(id_, kXf),
                                      pass.param(wte_), N, cfg_.dim, vocab_rows_, kOutIn);
        } else {
          // dlogits and xf live in the micro-batch's arena: a deferred product keeps them.
          vocab_projection_backward(pass, wte_, vocab_rows_, cfg_.dim, dlogits,
                                    pass.record.get(id_, kXf), dxf_all);
        }
      });
    }
    // f of the vocabulary-parallel output projection: each rank's columns gave a partial dxf,
    // summed over tp (all-reduce, or reduce-scatter of this rank's tokens).
    tp_reduce_output(pass, dxf_all, dxf, cfg_.dim);
  }
  flow[0] = pass.arena.template alloc_zero<T>(n);
  flow[1] = pass.arena.template alloc<T>(n);
  const int before =
      chunks_.back().layers > 0 ? block_unit(static_cast<int>(blocks_.size()) - 1) : -1;
  in_unit(pass, final_unit(), Use::backward, before, true,
          [&] { ln_f_->backward(pass, dxf, flow[0]); });
  return flow[0];
}

template <typename T>
void Gpt2<T>::embedding_backward(Pass<T>& pass, const T* dx, bool head) {
  if (pass.block()) {
    embedding_backward_grid(pass, dx);
    return;
  }
  // The embedding gradient needs every token's dx0 (sequence parallel: gathered).
  Scratch<T> scratch(pass);
  const T* dx0 = tp_gather(pass, dx, cfg_.dim, scratch);
  if (pass.hooks != nullptr && pass.hooks->by_pieces(kEmbeddings)) {
    pass.hooks->reduce_by_pieces(pass, kEmbeddings, [&](size_t begin, size_t end, T* out) {
      embedding_grad_piece(pass, dx0, head, begin, end, out);
    });
    // wpe is whole on every tp rank: every position's gradient, as at tp = 1.
    in_unit(pass, wpe_unit(), Use::grads_only, -1, true, [&] {
      kernels::embedding_backward<T>(nullptr, pass.grad(wpe_), dx0, pass.record.tokens, pass.B,
                                     pass.Tn, cfg_.dim, pass.positions);
    });
    return;
  }
  // Both units at once: only hooks that leave the whole buffers in place come here.
  in_unit(pass, kEmbeddings, Use::grads_only, -1, true, [&] {
    in_unit(pass, wpe_unit(), Use::grads_only, -1, true, [&] {
      if (tp_size(pass) == 1) {
        kernels::embedding_backward<T>(pass.grad(wte_), pass.grad(wpe_), dx0, pass.record.tokens,
                                       pass.B, pass.Tn, cfg_.dim, pass.positions);
      } else {
        embedding_backward_part(pass, dx0);
      }
    });
  });
}

template <typename T>
void Gpt2<T>::embedding_grad_piece(const Pass<T>& pass, const T* dx0, bool head, size_t begin,
                                   size_t end, T* out) const {
  std::fill(out, out + (end - begin), T(0));  // alignment gaps and padding rows stay 0
  const ParamSpec& spec = table_.spec(wte_);
  const auto C = static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  const size_t lo = std::max(begin, spec.offset);
  const size_t hi = std::min(end, spec.offset + spec.numel);
  if (lo >= hi) {
    return;
  }
  // The rows [r0, r1) the piece touches, computed whole, then the touched part copied out.
  const size_t r0 = (lo - spec.offset) / C;
  const size_t r1 = (hi - spec.offset + C - 1) / C;
  std::vector<T> rows((r1 - r0) * C, T(0));
  if (head) {  // the output projection: rows = dlogits[:, r0:r1]^T xf
    kernels::gemm<T>(kernels::Trans::yes, kernels::Trans::no, static_cast<int>(r1 - r0), cfg_.dim,
                     N, T(1), pass.record.get(id_, kProbs) + r0, vocab_rows_,
                     pass.record.get(id_, kXf), cfg_.dim, T(0), rows.data(), cfg_.dim);
  }
  if (dx0 != nullptr) {  // the lookup: each token's dx0 row into its id's row
    for (int bt = 0; bt < N; ++bt) {
      const auto id = static_cast<size_t>(pass.record.tokens[bt] - vocab_first_);  // wraps
      if (id >= r0 && id < r1) {
        kernels::add_into<T>(rows.data() + (id - r0) * C, dx0 + static_cast<size_t>(bt) * C, C);
      }
    }
  }
  std::copy(rows.begin() + static_cast<std::ptrdiff_t>(lo - spec.offset - r0 * C),
            rows.begin() + static_cast<std::ptrdiff_t>(hi - spec.offset - r0 * C),
            out + (lo - begin));
}

template <typename T>
void Gpt2<T>::embedding_backward_part(const Pass<T>& pass, const T* dx0) const {
  // This rank's wte rows get the gradients of the tokens it holds; wpe (whole on every rank)
  // gets every position's, the same on every rank.
  const auto C = static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  T* dwte = pass.grad(wte_);
  T* dwpe = pass.grad(wpe_);
  for (int bt = 0; bt < N; ++bt) {
    const int row = pass.record.tokens[bt] - vocab_first_;
    const T* d = dx0 + static_cast<size_t>(bt) * C;
    if (row >= 0 && row < vocab_rows_) {
      T* e = dwte + static_cast<size_t>(row) * C;
      for (size_t c = 0; c < C; ++c) {
        e[c] += d[c];
      }
    }
    T* p = dwpe + static_cast<size_t>(pass.position(bt % pass.Tn)) * C;
    for (size_t c = 0; c < C; ++c) {
      p[c] += d[c];
    }
  }
}

template class Gpt2<float>;
template class Gpt2<double>;

}  // namespace parti::model::gpt2

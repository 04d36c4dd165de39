#include "parti/model/gpt.h"

#include <string>

#include "parti/kernels/embedding.h"
#include "parti/kernels/matmul.h"
#include "parti/kernels/softmax_xent.h"

namespace parti::model {
namespace {
constexpr auto kOutIn = kernels::WeightLayout::out_in;
}  // namespace

template <typename T>
Gpt<T>::Gpt(const GptConfig& cfg) : cfg_(cfg), id_(table_.add_module()) {
  const int C = cfg.dim;
  wte_ = table_.add("wte.weight", {cfg.padded_vocab(), C}, Init::normal, true, cfg.vocab);
  wpe_ = table_.add("wpe.weight", {cfg.seq_len, C}, Init::normal, true);
  embeddings_ = {0, table_.total()};
  for (int l = 0; l < cfg.layers; ++l) {
    const size_t begin = table_.total();
    blocks_.push_back(std::make_unique<Block<T>>(table_, "h." + std::to_string(l), C, cfg.heads));
    block_ranges_.push_back({begin, table_.total()});
  }
  const size_t begin = table_.total();
  ln_f_ = std::make_unique<LayerNorm<T>>(table_, "ln_f", C);
  ln_f_range_ = {begin, table_.total()};
}

template <typename T>
const T* Gpt<T>::logits(Pass<T>& pass) {
  PARTI_ASSERT(pass.Tn <= cfg_.seq_len, "sequence of ", pass.Tn, " > seq_len ", cfg_.seq_len);
  const size_t n = pass.tokens() * static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  T* x = pass.arena.template alloc<T>(n);
  kernels::embedding_forward<T>(x, pass.record.tokens, pass.param(wte_), pass.param(wpe_), pass.B,
                                pass.Tn, cfg_.dim);
  pass.record.save(id_, kX0, x);
  for (auto& block : blocks_) {
    T* next = pass.arena.template alloc<T>(n);
    block->forward(pass, x, next);
    x = next;
  }
  pass.record.save(id_, kXL, x);
  T* xf = pass.arena.template alloc<T>(n);
  ln_f_->forward(pass, x, xf);
  pass.record.save(id_, kXf, xf);
  T* logits =
      pass.arena.template alloc<T>(pass.tokens() * static_cast<size_t>(cfg_.padded_vocab()));
  kernels::matmul_forward<T>(logits, xf, pass.param(wte_), nullptr, N, cfg_.dim,
                             cfg_.padded_vocab(), kOutIn);
  return logits;
}

template <typename T>
double Gpt<T>::forward(Pass<T>& pass) {
  PARTI_ASSERT(pass.record.targets != nullptr, "forward needs targets");
  T* probs = const_cast<T*>(logits(pass));
  T* losses = pass.arena.template alloc<T>(pass.tokens());
  kernels::softmax_xent_forward<T>(losses, probs, pass.record.targets,
                                   static_cast<int>(pass.tokens()), cfg_.vocab,
                                   cfg_.padded_vocab());
  pass.record.save(id_, kProbs, probs);
  pass.record.save(id_, kLosses, losses);
  double sum = 0.0;
  for (size_t i = 0; i < pass.tokens(); ++i) {
    sum += static_cast<double>(losses[i]);
  }
  return sum;
}

template <typename T>
void Gpt<T>::backward(Pass<T>& pass, T dloss) {
  const size_t n = pass.tokens() * static_cast<size_t>(cfg_.dim);
  const int N = static_cast<int>(pass.tokens());
  // The probabilities become dlogits in place: the record's buffer is ours to reuse.
  T* dlogits = const_cast<T*>(pass.record.get(id_, kProbs));
  kernels::softmax_xent_backward<T>(dlogits, pass.record.targets, dloss, N, cfg_.vocab,
                                    cfg_.padded_vocab());
  T* dxf = pass.arena.template alloc_zero<T>(n);
  kernels::matmul_backward<T>(dxf, pass.grad(wte_), nullptr, dlogits, pass.record.get(id_, kXf),
                              pass.param(wte_), N, cfg_.dim, cfg_.padded_vocab(), kOutIn);
  T* dx = pass.arena.template alloc_zero<T>(n);
  ln_f_->backward(pass, dxf, dx);
  auto ready = [&](const Range& r) {
    if (pass.grads_ready != nullptr) {
      (*pass.grads_ready)(r.begin, r.end);
    }
  };
  ready(ln_f_range_);
  for (size_t l = blocks_.size(); l-- > 0;) {
    T* dprev = pass.arena.template alloc_zero<T>(n);
    ready({0, 0});  // nothing new: a chance to progress started reductions
    blocks_[l]->backward(pass, dx, dprev);
    ready(block_ranges_[l]);
    dx = dprev;
  }
  kernels::embedding_backward<T>(pass.grad(wte_), pass.grad(wpe_), dx, pass.record.tokens, pass.B,
                                 pass.Tn, cfg_.dim);
  ready(embeddings_);
}

template class Gpt<float>;
template class Gpt<double>;

}  // namespace parti::model

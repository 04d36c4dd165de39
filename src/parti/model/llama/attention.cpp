#include "parti/model/llama/attention.h"

#include <type_traits>

#include "parti/kernels/attention.h"
#include "parti/kernels/gqa.h"
#include "parti/kernels/rope.h"
#include "parti/model/kv_cache.h"
#include "parti/parallel/context/ring_attention.h"

namespace parti::model::llama {
using namespace parallel::tensor;  // the linear layers: a model family writes no collective
namespace {
enum Saved { kInp, kQkv, kAtt, kY };
constexpr auto kOutIn = kernels::WeightLayout::out_in;
}  // namespace

template <typename T>
Attention<T>::Attention(ParamTable& table, const std::string& prefix, int C, int NH, int KV,
                        double theta)
    : C_(C),
      hd_(C / NH),
      NH_(NH / table.tp().feature_parts()),
      KV_(KV / table.tp().feature_parts()),
      theta_(theta),
      id_(table.add_module()),
      q_(table, prefix + ".q_proj", {.in = C, .out = C, .layout = kOutIn, .bias = false}),
      k_(table, prefix + ".k_proj",
         {.in = C, .out = KV * (C / NH), .layout = kOutIn, .bias = false}),
      v_(table, prefix + ".v_proj",
         {.in = C, .out = KV * (C / NH), .layout = kOutIn, .bias = false}),
      o_(table, prefix + ".o_proj",
         {.in = C, .out = C, .layout = kOutIn, .bias = false, .init = Init::residual}) {
  PARTI_ASSERT(KV % table.tp().feature_parts() == 0 && NH % KV == 0, prefix, ": ", NH, " heads, ",
               KV, " key/value heads over tp ", table.tp().size);
}

template <typename T>
size_t Attention<T>::att_size(const Pass<T>& pass) const {
  const size_t rows =
      static_cast<size_t>(pass.rows()) * static_cast<size_t>(NH_) * static_cast<size_t>(pass.Tn);
  return pass.cp != nullptr ? rows : rows * static_cast<size_t>(pass.Tn);
}

template <typename T>
void Attention<T>::forward(Pass<T>& pass, const T* in, T* out) {
  if (pass.kv != nullptr) {
    cached_forward(pass, in, out);
    return;
  }
  const size_t N = pass.product_tokens();
  const auto Cl = static_cast<size_t>(NH_ * hd_), Ckv = static_cast<size_t>(KV_ * hd_);
  Scratch<T> scratch(pass);
  const T* x = input(pass, in, C_, scratch);  // every token (sequence parallel: gathered)
  T* q = scratch.alloc(N * Cl);
  T* k = scratch.alloc(N * Ckv);
  T* v = scratch.alloc(N * Ckv);
  q_.forward(pass, x, q);
  k_.forward(pass, x, k);
  v_.forward(pass, x, v);
  kernels::rope_forward<T>(q, pass.rows(), pass.Tn, NH_, hd_, Cl, theta_, pass.positions);
  kernels::rope_forward<T>(k, pass.rows(), pass.Tn, KV_, hd_, Ckv, theta_, pass.positions);
  T* qkv = pass.arena.template alloc<T>(N * 3 * Cl);
  kernels::gqa_pack<T>(qkv, q, k, v, static_cast<int>(N), NH_, KV_, hd_);
  // Selective recomputation drops the probabilities (backward makes them again from qkv).
  const bool keep_att = pass.recompute != Recompute::selective || pass.cp != nullptr;
  T* att = keep_att ? pass.arena.template alloc<T>(att_size(pass)) : scratch.alloc(att_size(pass));
  T* y = pass.arena.template alloc<T>(N * Cl);
  core_forward(pass, y, att, qkv);
  o_.forward(pass, y, out, scratch);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kQkv, qkv);
  if (keep_att) {
    pass.record.save(id_, kAtt, att);
  }
  pass.record.save(id_, kY, y);
}

template <typename T>
void Attention<T>::cached_forward(Pass<T>& pass, const T* in, T* out) {
  const int Tn = pass.Tn, past = cached_start(pass);
  const auto Cl = static_cast<size_t>(NH_ * hd_), Ckv = static_cast<size_t>(KV_ * hd_);
  const auto N = static_cast<size_t>(Tn);
  Scratch<T> scratch(pass);
  T* q = scratch.alloc(N * Cl);
  auto [keys, values] = pass.kv->slots(id_, KV_ * hd_);
  T* k = keys + static_cast<size_t>(past) * Ckv;  // the new positions' rows of the cache
  T* v = values + static_cast<size_t>(past) * Ckv;
  q_.forward(pass, in, q);
  k_.forward(pass, in, k);
  v_.forward(pass, in, v);
  kernels::rope_forward<T>(q, 1, Tn, NH_, hd_, Cl, theta_, pass.positions);
  kernels::rope_forward<T>(k, 1, Tn, KV_, hd_, Ckv, theta_, pass.positions);
  T* y = scratch.alloc(N * Cl);
  kernels::attention_cached<T>(y, q, NH_ * hd_, keys, values, Tn, past, NH_, KV_, hd_);
  o_.forward(pass, y, out, scratch);
}

template <typename T>
void Attention<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const size_t N = pass.product_tokens();
  const auto Cl = static_cast<size_t>(NH_ * hd_), Ckv = static_cast<size_t>(KV_ * hd_);
  const T* qkv = pass.record.get(id_, kQkv);
  T* dy = pass.arena.template alloc_zero<T>(N * Cl);
  T* dqkv = pass.arena.template alloc_zero<T>(N * 3 * Cl);
  Scratch<T> scratch(pass);
  o_.backward(pass, dout, pass.record.get(id_, kY), dy, scratch);
  core_backward(pass, dqkv, dy, qkv, pass.record.get(id_, kY), scratch);
  // Each key/value head's gradient sums its query heads'; then the rotations undone.
  T* dq = scratch.alloc(N * Cl);
  T* dk = scratch.alloc(N * Ckv);
  T* dv = scratch.alloc(N * Ckv);
  kernels::gqa_unpack_grads<T>(dq, dk, dv, dqkv, static_cast<int>(N), NH_, KV_, hd_);
  kernels::rope_backward<T>(dq, pass.rows(), pass.Tn, NH_, hd_, Cl, theta_, pass.positions);
  kernels::rope_backward<T>(dk, pass.rows(), pass.Tn, KV_, hd_, Ckv, theta_, pass.positions);
  // f: the partial input gradients of q, k and v, summed over tp once.
  const T* x = input(pass, pass.record.get(id_, kInp), C_, scratch);
  T* dx = input_grad(pass, dinp, C_, scratch);
  q_.backward(pass, dq, x, dx);
  k_.backward(pass, dk, x, dx);
  v_.backward(pass, dv, x, dx);
  add_input_grad(pass, dx, dinp, C_, scratch);
}

template <typename T>
void Attention<T>::core_forward(Pass<T>& pass, T* y, T* att, const T* qkv) const {
  const int Cl = NH_ * hd_;
  if (pass.cp == nullptr) {
    kernels::attention_forward<T>(y, att, qkv, pass.rows(), pass.Tn, Cl, NH_);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    parallel::context::ring_attention_forward(*pass.cp, pass.rows(), pass.Tn * pass.cp_size(), Cl,
                                              NH_, y, att, qkv);
  } else {
    PARTI_ASSERT(false, "ring attention runs in float");
  }
}

template <typename T>
void Attention<T>::core_backward(Pass<T>& pass, T* dqkv, const T* dy, const T* qkv, const T* y,
                                 Scratch<T>& scratch) const {
  const int Cl = NH_ * hd_;
  if (pass.cp != nullptr) {
    if constexpr (std::is_same_v<T, float>) {
      parallel::context::ring_attention_backward(*pass.cp, pass.rows(), pass.Tn * pass.cp_size(),
                                                 Cl, NH_, dqkv, dy, qkv, y,
                                                 pass.record.get(id_, kAtt));
    } else {
      PARTI_ASSERT(false, "ring attention runs in float");
    }
    return;
  }
  const T* att = nullptr;
  if (pass.recompute == Recompute::selective) {
    T* again = scratch.alloc(att_size(pass));
    T* unused = scratch.alloc(pass.product_tokens() * static_cast<size_t>(Cl));  // the same y
    kernels::attention_forward<T>(unused, again, qkv, pass.rows(), pass.Tn, Cl, NH_);
    att = again;
  } else {
    att = pass.record.get(id_, kAtt);
  }
  kernels::attention_backward<T>(dqkv, dy, qkv, att, pass.rows(), pass.Tn, Cl, NH_);
}

template class Attention<float>;
template class Attention<double>;

}  // namespace parti::model::llama

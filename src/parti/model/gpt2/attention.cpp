#include "parti/model/gpt2/attention.h"

#include <algorithm>
#include <type_traits>

#include "parti/kernels/attention.h"
#include "parti/model/kv_cache.h"
#include "parti/parallel/context/ring_attention.h"
#include "parti/parallel/tensor/mappings.h"

namespace parti::model::gpt2 {
using namespace parallel::tensor;  // the mappings: a model family writes no collective
namespace {
enum Saved { kInp, kQkv, kAtt, kY };
constexpr auto kInOut = kernels::WeightLayout::in_out;
}  // namespace

template <typename T>
Attention<T>::Attention(ParamTable& table, const std::string& prefix, int C, int NH)
    : C_(C),
      NH_(NH / table.tp().feature_parts()),
      Cl_(C / table.tp().feature_parts()),
      id_(table.add_module()),
      qkv_(table, prefix + ".c_attn",
           {.in = C, .out = 3 * C, .layout = kInOut, .init = Init::normal, .groups = 3}),
      proj_(table, prefix + ".c_proj",
            {.in = C, .out = C, .layout = kInOut, .init = Init::residual}) {
  PARTI_ASSERT(NH % table.tp().feature_parts() == 0, prefix, ": ", NH, " heads over tp ",
               table.tp().size);
}

template <typename T>
void Attention<T>::forward(Pass<T>& pass, const T* in, T* out) {
  if (pass.kv != nullptr) {
    cached_forward(pass, in, out);
    return;
  }
  const size_t BT = pass.product_tokens();
  Scratch<T> scratch(pass);
  const T* x = input(pass, in, C_, scratch);  // every token (sequence parallel: gathered)
  T* qkv = pass.arena.template alloc<T>(BT * 3 * static_cast<size_t>(Cl_));
  // Selective recomputation drops the attention probabilities (B, NH, T, T): backward makes
  // them again from qkv.
  // Under context parallelism only the log-sum-exp of each row is kept (B, NH, T).
  const bool keep_att = pass.recompute != Recompute::selective || pass.cp != nullptr;
  T* att = keep_att ? pass.arena.template alloc<T>(att_size(pass)) : scratch.alloc(att_size(pass));
  T* y = pass.arena.template alloc<T>(BT * static_cast<size_t>(Cl_));
  // Column-parallel: this rank's heads' q, k and v; then its heads' attention.
  qkv_.forward(pass, x, qkv);
  if (pass.cp != nullptr) {
    ring_forward(pass, y, att, qkv);  // att: the log-sum-exp per row and head (B, NH, T)
  } else {
    kernels::attention_forward<T>(y, att, qkv, pass.rows(), pass.Tn, Cl_, NH_);
  }
  // Row-parallel: the output summed over tp.
  proj_.forward(pass, y, out, scratch);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kQkv, qkv);
  if (keep_att) {
    pass.record.save(id_, kAtt, att);
  }
  pass.record.save(id_, kY, y);
}

template <typename T>
void Attention<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const size_t BT = pass.product_tokens();
  const T* qkv = pass.record.get(id_, kQkv);
  T* dy = pass.arena.template alloc_zero<T>(BT * static_cast<size_t>(Cl_));
  T* dqkv = pass.arena.template alloc_zero<T>(BT * 3 * static_cast<size_t>(Cl_));
  Scratch<T> scratch(pass);
  proj_.backward(pass, dout, pass.record.get(id_, kY), dy, scratch);
  const T* att = nullptr;
  if (pass.cp != nullptr) {
    ring_backward(pass, dqkv, dy, qkv, pass.record.get(id_, kY), pass.record.get(id_, kAtt));
  } else if (pass.recompute == Recompute::selective) {
    T* again = scratch.alloc(att_size(pass));
    T* y = scratch.alloc(BT * static_cast<size_t>(Cl_));  // the same y; only att is needed
    kernels::attention_forward<T>(y, again, qkv, pass.rows(), pass.Tn, Cl_, NH_);
    att = again;
  } else {
    att = pass.record.get(id_, kAtt);
  }
  if (pass.cp == nullptr) {
    kernels::attention_backward<T>(dqkv, dy, qkv, att, pass.rows(), pass.Tn, Cl_, NH_);
  }
  // f: the input gradient of a column-parallel product is a partial sum over the tp group.
  const T* x = input(pass, pass.record.get(id_, kInp), C_, scratch);
  T* dx = input_grad(pass, dinp, C_, scratch);
  qkv_.backward(pass, dqkv, x, dx);
  add_input_grad(pass, dx, dinp, C_, scratch);
}

template <typename T>
void Attention<T>::cached_forward(Pass<T>& pass, const T* in, T* out) {
  const int Tn = pass.Tn, past = cached_start(pass);
  const auto Cl = static_cast<size_t>(Cl_);
  Scratch<T> scratch(pass);
  T* qkv = scratch.alloc(static_cast<size_t>(Tn) * 3 * Cl);
  qkv_.forward(pass, in, qkv);
  auto [keys, values] = pass.kv->slots(id_, Cl_);
  for (int t = 0; t < Tn; ++t) {
    const T* k = qkv + static_cast<size_t>(t) * 3 * Cl + Cl;
    const size_t at = static_cast<size_t>(past + t) * Cl;
    std::copy(k, k + Cl, keys + at);
    std::copy(k + Cl, k + 2 * Cl, values + at);
  }
  T* y = scratch.alloc(static_cast<size_t>(Tn) * Cl);
  kernels::attention_cached<T>(y, qkv, 3 * Cl_, keys, values, Tn, past, NH_, NH_, Cl_ / NH_);
  proj_.forward(pass, y, out, scratch);
}

template <typename T>
size_t Attention<T>::att_size(const Pass<T>& pass) const {
  const size_t rows =
      static_cast<size_t>(pass.rows()) * static_cast<size_t>(NH_) * static_cast<size_t>(pass.Tn);
  return pass.cp != nullptr ? rows : rows * static_cast<size_t>(pass.Tn);
}

template <typename T>
void Attention<T>::ring_forward(Pass<T>& pass, T* y, T* lse, const T* qkv) const {
  if constexpr (std::is_same_v<T, float>) {
    parallel::context::ring_attention_forward(*pass.cp, pass.rows(), pass.Tn * pass.cp_size(), Cl_,
                                              NH_, y, lse, qkv);
  } else {
    PARTI_ASSERT(false, "ring attention runs in float");
  }
}

template <typename T>
void Attention<T>::ring_backward(Pass<T>& pass, T* dqkv, const T* dy, const T* qkv, const T* y,
                                 const T* lse) const {
  if constexpr (std::is_same_v<T, float>) {
    parallel::context::ring_attention_backward(*pass.cp, pass.rows(), pass.Tn * pass.cp_size(), Cl_,
                                               NH_, dqkv, dy, qkv, y, lse);
  } else {
    PARTI_ASSERT(false, "ring attention runs in float");
  }
}

template class Attention<float>;
template class Attention<double>;

}  // namespace parti::model::gpt2

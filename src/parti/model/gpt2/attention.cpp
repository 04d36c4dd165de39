#include "parti/model/gpt2/attention.h"

#include <type_traits>

#include "parti/kernels/attention.h"
#include "parti/kernels/matmul.h"
#include "parti/model/deferred_grads.h"
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
      NH_(NH / table.tp().size),
      Cl_(C / table.tp().size),
      id_(table.add_module()),
      qkv_weight_(table.add(prefix + ".c_attn.weight", {C, 3 * C}, Init::normal, true, -1, {1, 3})),
      qkv_bias_(table.add(prefix + ".c_attn.bias", {3 * C}, Init::zeros, false, -1, {0, 3})),
      proj_weight_(table.add(prefix + ".c_proj.weight", {C, C}, Init::residual, true, -1, {0, 1})),
      proj_bias_(table.add(prefix + ".c_proj.bias", {C}, Init::zeros, false)) {
  PARTI_ASSERT(NH % table.tp().size == 0, prefix, ": ", NH, " heads over tp ", table.tp().size);
}

template <typename T>
void Attention<T>::forward(Pass<T>& pass, const T* in, T* out) {
  const int N = static_cast<int>(pass.tokens());
  const size_t BT = pass.tokens();
  Scratch<T> scratch(pass);
  const T* x = tp_gather(pass, in, C_, scratch);  // every token (sequence parallel: gathered)
  T* qkv = pass.arena.template alloc<T>(BT * 3 * static_cast<size_t>(Cl_));
  // Selective recomputation drops the attention probabilities (B, NH, T, T): backward makes
  // them again from qkv.
  // Under context parallelism only the log-sum-exp of each row is kept (B, NH, T).
  const bool keep_att = pass.recompute != Recompute::selective || pass.cp != nullptr;
  T* att = keep_att ? pass.arena.template alloc<T>(att_size(pass)) : scratch.alloc(att_size(pass));
  T* y = pass.arena.template alloc<T>(BT * static_cast<size_t>(Cl_));
  // Column-parallel: this rank's heads' q, k and v; then its heads' attention.
  kernels::matmul_forward<T>(qkv, x, pass.param(qkv_weight_), pass.param(qkv_bias_), N, C_, 3 * Cl_,
                             kInOut);
  if (pass.cp != nullptr) {
    ring_forward(pass, y, att, qkv);  // att: the log-sum-exp per row and head (B, NH, T)
  } else {
    kernels::attention_forward<T>(y, att, qkv, pass.B, pass.Tn, Cl_, NH_);
  }
  // Row-parallel: a partial sum of the output (the bias on tp rank 0 only), then g.
  const bool bias = pass.table.tp().index == 0;
  T* partial = tp_partial_output(pass, out, C_, scratch);
  kernels::matmul_forward<T>(partial, y, pass.param(proj_weight_),
                             bias ? pass.param(proj_bias_) : nullptr, N, Cl_, C_, kInOut);
  tp_reduce_output(pass, partial, out, C_);
  pass.record.save(id_, kInp, in);
  pass.record.save(id_, kQkv, qkv);
  if (keep_att) {
    pass.record.save(id_, kAtt, att);
  }
  pass.record.save(id_, kY, y);
}

template <typename T>
void Attention<T>::backward(Pass<T>& pass, const T* dout, T* dinp) {
  const int N = static_cast<int>(pass.tokens());
  const size_t BT = pass.tokens();
  const T* qkv = pass.record.get(id_, kQkv);
  T* dy = pass.arena.template alloc_zero<T>(BT * static_cast<size_t>(Cl_));
  T* dqkv = pass.arena.template alloc_zero<T>(BT * 3 * static_cast<size_t>(Cl_));
  Scratch<T> scratch(pass);
  const T* d = tp_gather(pass, dout, C_, scratch);
  linear_backward(pass, dy, proj_weight_, proj_bias_, d, pass.record.get(id_, kY), N, Cl_, C_,
                  kInOut);
  const T* att = nullptr;
  if (pass.cp != nullptr) {
    ring_backward(pass, dqkv, dy, qkv, pass.record.get(id_, kY), pass.record.get(id_, kAtt));
  } else if (pass.recompute == Recompute::selective) {
    T* again = scratch.alloc(att_size(pass));
    T* y = scratch.alloc(BT * static_cast<size_t>(Cl_));  // the same y; only att is needed
    kernels::attention_forward<T>(y, again, qkv, pass.B, pass.Tn, Cl_, NH_);
    att = again;
  } else {
    att = pass.record.get(id_, kAtt);
  }
  if (pass.cp == nullptr) {
    kernels::attention_backward<T>(dqkv, dy, qkv, att, pass.B, pass.Tn, Cl_, NH_);
  }
  // f: the input gradient of a column-parallel product is a partial sum over the tp group.
  const bool tp = tp_size(pass) > 1;
  const T* x = tp_gather(pass, pass.record.get(id_, kInp), C_, scratch);
  T* dx = tp ? scratch.alloc_zero(BT * static_cast<size_t>(C_)) : dinp;
  linear_backward(pass, dx, qkv_weight_, qkv_bias_, dqkv, x, N, C_, 3 * Cl_, kInOut);
  if (tp) {
    tp_add_input_grad(pass, dx, dinp, C_, scratch);
  }
}

template <typename T>
size_t Attention<T>::att_size(const Pass<T>& pass) const {
  const size_t rows =
      static_cast<size_t>(pass.B) * static_cast<size_t>(NH_) * static_cast<size_t>(pass.Tn);
  return pass.cp != nullptr ? rows : rows * static_cast<size_t>(pass.Tn);
}

template <typename T>
void Attention<T>::ring_forward(Pass<T>& pass, T* y, T* lse, const T* qkv) const {
  if constexpr (std::is_same_v<T, float>) {
    parallel::context::ring_attention_forward(*pass.cp, pass.B, pass.Tn * pass.cp_size(), Cl_, NH_,
                                              y, lse, qkv);
  } else {
    PARTI_ASSERT(false, "ring attention runs in float");
  }
}

template <typename T>
void Attention<T>::ring_backward(Pass<T>& pass, T* dqkv, const T* dy, const T* qkv, const T* y,
                                 const T* lse) const {
  if constexpr (std::is_same_v<T, float>) {
    parallel::context::ring_attention_backward(*pass.cp, pass.B, pass.Tn * pass.cp_size(), Cl_, NH_,
                                               dqkv, dy, qkv, y, lse);
  } else {
    PARTI_ASSERT(false, "ring attention runs in float");
  }
}

template class Attention<float>;
template class Attention<double>;

}  // namespace parti::model::gpt2

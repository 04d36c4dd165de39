// Causal multi-head self-attention core (after the QKV projection, before the output one).
// qkv (B, T, 3C) holds [q | k | v] per token, head h in columns h*HS .. (h+1)*HS of each part
// (as GPT-2's split(C) then view(NH, HS)). HS = C / NH, scale = 1/sqrt(HS).
//   att[b,h] = softmax(mask(q k^T * scale))   (T, T), zero above the diagonal, saved for backward
//   out[b,t,h*HS..] = att[b,h] v              (B, T, C)
// Each (b, h) is one task; its products go through GEMM (single-threaded inside the task).
#pragma once

namespace parti::kernels {

// out (B, T, C), att (B, NH, T, T)
template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int NH);

// dqkv (B, T, 3C) +=
template <typename T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn, int C,
                        int NH);

}  // namespace parti::kernels

namespace parti::kernels {

// Generation with a key/value cache: Tn new tokens of one sequence at positions past .. past+Tn-1
// attend over the cached keys and values of positions 0 .. past+Tn-1 (theirs already appended),
// each new token i over the first past+i+1 (causal). q (Tn, NH hd) with row stride ldq; keys,
// values (past+Tn, KV hd), query head h reading key/value head h / (NH / KV); out (Tn, NH hd).
// The same scale, softmax and exp as attention_forward.
template <typename T>
void attention_cached(T* out, const T* q, int ldq, const T* keys, const T* values, int Tn, int past,
                      int NH, int KV, int hd);

}  // namespace parti::kernels

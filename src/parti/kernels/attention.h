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

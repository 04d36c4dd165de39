// Token + position embedding: out[b, t] = wte[tokens[b, t]] + wpe[t].
// wte (Vp, C), wpe (maxT, C), tokens (B, T) in [0, V).
#pragma once

#include <cstdint>

namespace parti::kernels {

// out (B, T, C)
template <typename T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C);

// dwte (Vp, C) +=, dwpe (maxT, C) +=. Deterministic: each thread owns a range of channels and
// visits the tokens in order.
template <typename T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C);

}  // namespace parti::kernels

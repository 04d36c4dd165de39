// Token + position embedding: out[b, t] = wte[tokens[b, t]] + wpe[pos(t)].
// wte (Vp, C), wpe (maxT, C), tokens (B, T) in [0, V); pos(t) = positions[t] (the global
// position of a row's local token t under context parallelism), or t when positions is null.
#pragma once

#include <cstdint>

namespace parti::kernels {

// out (B, T, C)
template <typename T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C, const int32_t* positions = nullptr);

// dwte (Vp, C) +=, dwpe (maxT, C) += (dwte null: dwpe alone). Deterministic: each thread owns a
// range of channels and visits the tokens in order.
template <typename T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C, const int32_t* positions = nullptr);

// A vocabulary-parallel lookup without positions (Llama): out[n] = table[tokens[n] - first] when
// that is one of this rank's `rows`, else zeros. table (rows, C), out (N, C).
template <typename T>
void lookup_forward(T* out, const int32_t* tokens, const T* table, int first, int rows, int N,
                    int C);

// dtable[tokens[n] - first] += dout[n] for this rank's rows. Deterministic like
// embedding_backward.
template <typename T>
void lookup_backward(T* dtable, const T* dout, const int32_t* tokens, int first, int rows, int N,
                     int C);

// out[b, t] += wpe[pos(t)] (B, T, C): the positions alone (block partitioning adds them after
// the vocabulary's lookup).
template <typename T>
void positions_forward(T* out, const T* wpe, int B, int Tn, int C,
                       const int32_t* positions = nullptr);

}  // namespace parti::kernels

// Grouped-query attention (Ainslie et al. 2023) on the fused attention kernels (attention.h,
// and ring attention): the NH query heads share KV key/value heads, query head h reading
// key/value head h / (NH / KV) (Hugging Face's repeat_kv). The kernels take one packed
// qkv (N, 3 NH hd) with a key/value head per query head; these make it and take its gradient
// back apart.
#pragma once

namespace parti::kernels {

// qkv (N, 3 NH hd) = [q | k repeated | v repeated] per token; q (N, NH hd), k, v (N, KV hd).
template <typename T>
void gqa_pack(T* qkv, const T* q, const T* k, const T* v, int N, int NH, int KV, int hd);

// dq (N, NH hd) = dqkv's query part; dk, dv (N, KV hd) = the sums over each key/value head's
// query heads, in head order (all three overwritten).
template <typename T>
void gqa_unpack_grads(T* dq, T* dk, T* dv, const T* dqkv, int N, int NH, int KV, int hd);

}  // namespace parti::kernels

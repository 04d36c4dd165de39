// Linear layer y = x W + b, the GEMM behind every projection.
// N rows (B*T tokens), C inputs, OC outputs. The weight is stored in one of two layouts:
//   Layout::in_out  W (C, OC)  Hugging Face GPT-2 Conv1D (c_attn, c_proj, c_fc)
//   Layout::out_in  W (OC, C)  the tied output projection: logits = x wte^T, wte (Vp, C)
// Backward accumulates (+=) into dinp, dweight and dbias (llm.c's contract); dinp or dbias may be
// null when not needed.
#pragma once

namespace parti::kernels {

enum class WeightLayout { in_out, out_in };

// out (N, OC) = inp (N, C) W + bias (OC, may be null)
template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int C, int OC,
                    WeightLayout layout);

// dinp (N, C) += dout W^T;  dweight += inp^T dout (in W's layout);  dbias (OC) += sum_n dout
// (dinp, dweight and dbias may each be null: not computed)
template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int C, int OC, WeightLayout layout);

}  // namespace parti::kernels

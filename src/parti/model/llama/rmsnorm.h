// RMSNorm module (Llama `input_layernorm`, `post_attention_layernorm`, `model.norm`): weight (C),
// eps from the config. Saves its input and rstd. Under sequence parallelism its rows are this
// rank's tokens and the weight gradient is summed over tp.
#pragma once

#include <string>

#include "parti/model/module.h"

namespace parti::model::llama {

template <typename T>
class RmsNorm : public Module<T> {
 public:
  RmsNorm(ParamTable& table, const std::string& name, int C, double eps);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  int C_;
  double eps_;
  int id_;
  int weight_;
};

}  // namespace parti::model::llama

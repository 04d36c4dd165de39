// LayerNorm module: weight (C), bias (C). Saves its input, mean and rstd.
#pragma once

#include <string>

#include "parti/model/module.h"

namespace parti::model::gpt2 {

template <typename T>
class LayerNorm : public Module<T> {
 public:
  LayerNorm(ParamTable& table, const std::string& prefix, int C);
  void forward(Pass<T>& pass, const T* in, T* out) override;
  void backward(Pass<T>& pass, const T* dout, T* dinp) override;

 private:
  int C_;
  int id_;
  int weight_;
  int bias_;
};

}  // namespace parti::model::gpt2

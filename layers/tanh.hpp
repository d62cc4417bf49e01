// Tanh: y = tanh x, elementwise, as PyTorch 1.13's nn.Tanh. No parameters; like ReLU
// (layers/relu.hpp), it composes an existing op, mg::tanh (core/ops_unary.cpp), which records the
// backward.
#pragma once

#include <string>

#include "layers/module.hpp"

namespace mg::nn {

template <typename T>
class BasicTanh : public BasicModule<T> {
 public:
  // x: any shape -> y: the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  std::string repr() const override { return "Tanh()"; }
};

extern template class BasicTanh<float>;
extern template class BasicTanh<double>;
using Tanh = BasicTanh<float>;

}  // namespace mg::nn

// Sigmoid: y = 1 / (1 + e^-x), elementwise, as PyTorch 1.13's nn.Sigmoid. No parameters; like ReLU
// (layers/relu.hpp), it composes an existing op, mg::sigmoid (core/ops_unary.cpp), which records
// the backward.
#pragma once

#include <string>

#include "layers/module.hpp"

namespace mg::nn {

template <typename T>
class BasicSigmoid : public BasicModule<T> {
 public:
  // x: any shape -> y: the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  std::string repr() const override { return "Sigmoid()"; }
};

extern template class BasicSigmoid<float>;
extern template class BasicSigmoid<double>;
using Sigmoid = BasicSigmoid<float>;

}  // namespace mg::nn

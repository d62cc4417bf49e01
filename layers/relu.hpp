// ReLU: y = max(x, 0), elementwise. The smallest layer there is, and the one to copy when adding
// a layer: a class deriving from BasicModule<T>, a forward, a repr, and (for a layer with
// weights) own_parameters(). docs/adding_a_layer.md has the checklist and a worked example.
#pragma once

#include <string>

#include "layers/module.hpp"

namespace mg::nn {

template <typename T>
class BasicReLU : public BasicModule<T> {
 public:
  // x: any shape -> y: the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  std::string repr() const override { return "ReLU()"; }
};

extern template class BasicReLU<float>;
extern template class BasicReLU<double>;
using ReLU = BasicReLU<float>;

}  // namespace mg::nn

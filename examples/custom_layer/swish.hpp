// Swish (also called SiLU): y = x * sigmoid(x), elementwise. A layer written outside minigrad,
// against its installed headers only, the way docs/adding_a_layer.md describes.
#pragma once

#include <string>

#include <minigrad/minigrad.hpp>

namespace custom {

template <typename T>
class BasicSwish : public mg::nn::BasicModule<T> {
 public:
  // x: any shape -> y: the same shape. One autograd node, "swish", with a hand-derived backward.
  mg::BasicTensor<T> forward(const mg::BasicTensor<T>& x) override;
  std::string repr() const override { return "Swish()"; }
};

extern template class BasicSwish<float>;
extern template class BasicSwish<double>;
using Swish = BasicSwish<float>;

}  // namespace custom

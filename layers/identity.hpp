// Identity: y = x, as PyTorch 1.13's nn.Identity: a placeholder where a model's shape has a slot
// for a layer (Sequential{Linear, Identity, ReLU} in place of a BatchNorm, for a comparison).
// forward returns x itself, not a copy, and records nothing: gradients reach x directly.
#pragma once

#include <string>

#include "layers/module.hpp"

namespace mg::nn {

template <typename T>
class BasicIdentity : public BasicModule<T> {
 public:
  // x: any shape -> the same tensor.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  std::string repr() const override { return "Identity()"; }
};

extern template class BasicIdentity<float>;
extern template class BasicIdentity<double>;
using Identity = BasicIdentity<float>;

}  // namespace mg::nn

// GELU: the Gaussian error linear unit, elementwise, as PyTorch 1.13's nn.GELU:
//
//   approximate = "none":  y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2
//   approximate = "tanh":  y = x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2
//
// Phi is the standard normal's cumulative distribution: the input is weighted by how likely a
// standard normal is to fall below it. The tanh form is the older approximation (GPT-2, BERT);
// it stays within 5e-4 of the exact one (tests/test_gelu.cpp checks 1e-3). One autograd node,
// "gelu", backward in gelu.cpp.
#pragma once

#include <string>

#include "layers/module.hpp"

namespace mg::nn {

struct GELUOptions {
  std::string approximate = "none";  // "none" (exact, with erf) or "tanh"
};

template <typename T>
class BasicGELU : public BasicModule<T> {
 public:
  explicit BasicGELU(GELUOptions options = {});

  // x: any shape -> y: the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // "GELU(approximate='none')", as PyTorch prints it.
  std::string repr() const override;

  const GELUOptions& options() const { return options_; }

 private:
  GELUOptions options_;
  bool tanh_;  // approximate == "tanh"
};

extern template class BasicGELU<float>;
extern template class BasicGELU<double>;
using GELU = BasicGELU<float>;

}  // namespace mg::nn

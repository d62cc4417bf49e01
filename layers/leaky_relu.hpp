// LeakyReLU: y = x where x > 0, else negative_slope * x, elementwise, as PyTorch 1.13's
// nn.LeakyReLU. A small slope keeps a gradient flowing for negative inputs, where ReLU's is 0.
// One autograd node, "leaky_relu", with its backward below the forward (leaky_relu.cpp).
#pragma once

#include <string>

#include "layers/module.hpp"

namespace mg::nn {

struct LeakyReLUOptions {
  double negative_slope = 0.01;  // any finite value, as in PyTorch (negative or above 1 too)
};

template <typename T>
class BasicLeakyReLU : public BasicModule<T> {
 public:
  explicit BasicLeakyReLU(LeakyReLUOptions options = {});

  // x: any shape -> y: the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // "LeakyReLU(negative_slope=0.01)", as PyTorch prints it.
  std::string repr() const override;

  const LeakyReLUOptions& options() const { return options_; }

 private:
  LeakyReLUOptions options_;
};

extern template class BasicLeakyReLU<float>;
extern template class BasicLeakyReLU<double>;
using LeakyReLU = BasicLeakyReLU<float>;

}  // namespace mg::nn

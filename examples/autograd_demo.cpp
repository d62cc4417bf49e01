// A first look at reverse-mode autograd: a tiny expression, its graph, its gradients, and the
// gradient check that proves them.
#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

int main() {
  // L = sum(tanh(x W + b)) * 0.5, with x: (2, 3), W: (3, 2), b: (2)
  mg::Tensor x = mg::Tensor::from_vector({1, 2, 3, -1, 0, 1}, {2, 3});
  mg::Tensor W = mg::Tensor::from_vector({0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f}, {3, 2}, true);
  mg::Tensor b = mg::Tensor::from_vector({0.01f, -0.02f}, {2}, true);
  mg::Tensor h = mg::tanh(mg::matmul(x, W) + b);
  mg::Tensor loss = mg::sum(h) * 0.5;
  fmt::print("loss = {:.6f}\n", loss.item());

  loss.backward();
  fmt::print("dL/dW = [{}]\n", fmt::join(W.grad().to_vector(), ", "));
  fmt::print("dL/db = [{}]\n", fmt::join(b.grad().to_vector(), ", "));

  // The same function in float64, checked against central differences.
  mg::TensorD xd = mg::TensorD::from_vector({1, 2, 3, -1, 0, 1}, {2, 3});
  mg::TensorD Wd = mg::TensorD::from_vector({0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, {3, 2});
  mg::TensorD bd = mg::TensorD::from_vector({0.01, -0.02}, {2});
  auto f = [](const std::vector<mg::TensorD>& in) {
    return mg::tanh(mg::matmul(in[0], in[1]) + in[2]);
  };
  fmt::print("{}\n", mg::gradcheck(f, {xd, Wd, bd}).report());
}

// The traced example of docs/architecture.md: a small graph, written as Graphviz DOT to stdout
// (docs/img/traced_graph.dot; `dot -Tsvg` renders it), and its gradients on stderr.
//
//   z = x W + b          x: (2, 3) data, W: (3, 2) and b: (2) parameters, z: (2, 2)
//   L = mean(tanh(z) * z)     z is read twice: by tanh and by mul
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <minigrad/minigrad.hpp>

int main() {
  const mg::Tensor x = mg::Tensor::from_vector({1, 2, 3, -1, 0, 1}, {2, 3});
  const mg::Tensor W =
      mg::Tensor::from_vector({0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f}, {3, 2}, true);
  const mg::Tensor b = mg::Tensor::from_vector({0.01f, -0.02f}, {2}, true);
  const mg::Tensor z = mg::matmul(x, W) + b;
  const mg::Tensor L = mg::mean(mg::tanh(z) * z);
  fmt::print("{}", mg::to_dot(L));

  L.backward();
  fmt::print(stderr, "L = {:.6f}\ndL/dW = {:.6f}\ndL/db = {:.6f}\n", L.item(),
             fmt::join(W.grad().to_vector(), ", "), fmt::join(b.grad().to_vector(), ", "));
}

// to_dot: the graph behind a tensor as Graphviz DOT, to see what autograd recorded.
//
//   std::ofstream("graph.dot") << mg::to_dot(loss);     then   dot -Tsvg graph.dot -o graph.svg
//   mg::to_dot(loss, {.names = model.named_parameters()})     parameters as "0.weight", "1.bias"
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace mg {

template <typename T>
struct DotOptions {
  // Names the caller gives tensors: a module's named_parameters() ("0.weight"), or the stages of
  // a computation ({"x_hat", x_hat}). A named tensor is labelled with its name (and its op).
  std::vector<std::pair<std::string, BasicTensor<T>>> names = {};
  // A tensor of at most this many elements also shows its values and, when a backward has left
  // one (a leaf, or a non-leaf after retain_grad()), its gradient. 0: no values.
  int64_t max_values = 0;
};

// One DOT node per tensor, labelled with the op that made it and its shape ("matmul\n(2, 2)"),
// or "param" for a leaf that requires grad and "leaf" for one that does not; a named tensor shows
// its name instead ("0.weight\n(64, 2)", "x_hat = mul\n(3, 1)"). One edge from each input to the
// op's output, in the direction the values flow (an op that reads the same tensor twice, x * x,
// gives two edges). A tensor read by more than one op, whose gradient is therefore the sum of
// what each sends back, has its outgoing edges drawn bold and red. The root is node n0. The walk
// is iterative, so a graph of 100,000 ops is fine. After a backward() without retain_graph the
// graph is freed and only the root remains to be drawn: draw before, or pass retain_graph.
template <typename T>
std::string to_dot(const BasicTensor<T>& root, const DotOptions<T>& options = {});

}  // namespace mg

// to_dot: the graph behind a tensor as Graphviz DOT, to see what autograd recorded.
//
//   std::ofstream("graph.dot") << mg::to_dot(loss);     then   dot -Tsvg graph.dot -o graph.svg
#pragma once

#include <string>

#include "core/tensor.hpp"

namespace mg {

// One DOT node per tensor, labelled with the op that made it and its shape ("matmul\n(2, 2)"),
// or "param" for a leaf that requires grad and "leaf" for one that does not. One edge from each
// input to the op's output, in the direction the values flow (an op that reads the same tensor
// twice, x * x, gives two edges). The root is node n0. The walk is iterative, so a graph of
// 100,000 ops is fine. After a backward() without retain_graph the graph is freed and only the
// root remains to be drawn.
template <typename T>
std::string to_dot(const BasicTensor<T>& root);

}  // namespace mg

// to_dot: one node per tensor with its op (or leaf/param) and shape, one edge per input, from
// input to output; shared inputs drawn once, their edges marked; deep graphs walked without
// recursion; names the caller gives, values and gradients of small tensors.
#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/dot.hpp"
#include "core/ops.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"

using mg::Tensor;

namespace {

struct Graph {
  std::vector<std::pair<std::string, std::string>> nodes;   // (id, label)
  std::vector<std::pair<std::string, std::string>> edges;   // (from, to)
  std::vector<std::pair<std::string, std::string>> marked;  // edges drawn bold: shared input

  std::string id_of(const std::string& label) const {
    const auto it =
        std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) { return n.second == label; });
    REQUIRE(it != nodes.end());
    return it->first;
  }
  bool has_edge(const std::string& from_label, const std::string& to_label) const {
    const std::pair<std::string, std::string> e{id_of(from_label), id_of(to_label)};
    return std::find(edges.begin(), edges.end(), e) != edges.end();
  }
};

// Reads back the lines to_dot writes: `n3 [label="op\n(2, 2)"...];` and `n1 -> n0;` (with
// ` [color=..., penwidth=2]` when n1 is read by more than one op).
Graph parse(const std::string& dot) {
  Graph g;
  const std::regex node(R"re(^  (n\d+) \[label="([^"]*)")re");
  const std::regex edge(R"(^  (n\d+) -> (n\d+)( \[color="#cc0000", penwidth=2\])?;$)");
  std::istringstream in(dot);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, node)) g.nodes.emplace_back(m[1], m[2]);
    if (std::regex_match(line, m, edge)) {
      g.edges.emplace_back(m[1], m[2]);
      if (m[3].matched) g.marked.emplace_back(m[1], m[2]);
    }
  }
  return g;
}

}  // namespace

TEST_CASE("to_dot: nodes, labels and edges of a small graph", "[dot]") {
  // L = sum(tanh(x W + b)), x: (2, 3) data, W: (3, 2) and b: (2) parameters.
  const Tensor x = Tensor::zeros({2, 3});
  const Tensor W = Tensor::zeros({3, 2}, true);
  const Tensor b = Tensor::zeros({2}, true);
  const Tensor L = mg::sum(mg::tanh(mg::matmul(x, W) + b));
  const std::string dot = to_dot(L);
  INFO(dot);
  CHECK(dot.rfind("digraph minigrad {\n", 0) == 0);
  CHECK(dot.back() == '\n');
  const Graph g = parse(dot);
  CHECK(g.nodes.size() == 7);  // x, W, b, matmul, add, tanh, sum
  CHECK(g.edges.size() == 6);  // matmul <- x, W; add <- matmul, b; tanh <- add; sum <- tanh
  CHECK(g.nodes[0] == std::pair<std::string, std::string>{"n0", "sum\\n(1)"});
  CHECK(g.has_edge("leaf\\n(2, 3)", "matmul\\n(2, 2)"));
  CHECK(g.has_edge("param\\n(3, 2)", "matmul\\n(2, 2)"));
  CHECK(g.has_edge("matmul\\n(2, 2)", "add\\n(2, 2)"));
  CHECK(g.has_edge("param\\n(2)", "add\\n(2, 2)"));
  CHECK(g.has_edge("add\\n(2, 2)", "tanh\\n(2, 2)"));
  CHECK(g.has_edge("tanh\\n(2, 2)", "sum\\n(1)"));
  CHECK_FALSE(g.has_edge("sum\\n(1)", "tanh\\n(2, 2)"));  // edges follow the values, not grads
}

TEST_CASE("to_dot: a tensor used twice is one node with two edges", "[dot]") {
  const Tensor x = Tensor::zeros({4}, true);
  const Tensor h = mg::exp(x);
  const Graph g = parse(to_dot(h * h + x));
  CHECK(g.nodes.size() == 4);  // x, exp, mul, add
  CHECK(g.edges.size() == 5);  // exp <- x; mul <- exp, exp; add <- mul, x
  const std::string e = g.id_of("exp\\n(4)"), m = g.id_of("mul\\n(4)");
  CHECK(std::count(g.edges.begin(), g.edges.end(), std::pair{e, m}) == 2);
  // exp and x are each read twice: their gradients are sums, and their 4 edges are marked.
  CHECK(g.marked.size() == 4);
  CHECK(std::count(g.marked.begin(), g.marked.end(), std::pair{e, m}) == 2);
  CHECK(std::find(g.marked.begin(), g.marked.end(), std::pair{g.id_of("add\\n(4)"), m}) ==
        g.marked.end());
}

TEST_CASE("to_dot: names the caller gives, parameters by their state_dict names", "[dot]") {
  mg::Generator gen(1);
  mg::nn::Sequential model;
  model.push_back(mg::nn::Linear(2, 3, {}, gen));
  model.push_back(mg::nn::ReLU());
  model.push_back(mg::nn::Linear(3, 1, {}, gen));
  const Tensor x = Tensor::zeros({4, 2});
  const Tensor h = model.forward(x);
  const Tensor L = mg::mean(h);
  const Graph g = parse(mg::to_dot(L, {.names = model.named_parameters()}));
  CHECK(g.has_edge("0.weight\\n(3, 2)", "linear\\n(4, 3)"));
  CHECK(g.has_edge("0.bias\\n(3)", "linear\\n(4, 3)"));
  CHECK(g.has_edge("2.weight\\n(1, 3)", "linear\\n(4, 1)"));
  CHECK(g.has_edge("2.bias\\n(1)", "linear\\n(4, 1)"));
  CHECK(g.nodes.size() == 9);  // x, 4 parameters, linear, relu, linear, mean
  // An op's output by name keeps its op: "h = linear".
  const Graph named = parse(mg::to_dot(L, {.names = {{"h", h}}}));
  CHECK(named.has_edge("h = linear\\n(4, 1)", "mean\\n(1)"));
}

TEST_CASE("to_dot: values and gradients of small tensors", "[dot]") {
  const Tensor x = Tensor::from_vector({1, -2.5f, 3}, {3}, true);
  const Tensor big = Tensor::zeros({4}, true);
  Tensor y = x * x;
  y.retain_grad();
  const Tensor L = mg::sum(y) + mg::sum(big);
  mg::DotOptions<float> options{.names = {{"x", x}, {"y", y}}, .max_values = 3};
  const Graph before = parse(mg::to_dot(L, options));
  CHECK(before.id_of("x\\n(3)\\nvalue  1  -2.5  3\\l").size() > 0);  // no gradient yet
  CHECK(before.id_of("param\\n(4)").size() > 0);                     // 4 > max_values: no values
  L.backward({}, /*retain_graph=*/true);
  const Graph after = parse(mg::to_dot(L, options));
  CHECK(after.has_edge("x\\n(3)\\nvalue  1  -2.5  3\\lgrad   2  -5  6\\l",
                       "y = mul\\n(3)\\nvalue  1  6.25  9\\lgrad   1  1  1\\l"));
}

TEST_CASE("to_dot: a leaf alone, and a freed graph", "[dot]") {
  const Tensor c = Tensor::zeros({2, 2});
  CHECK(parse(to_dot(c)).nodes ==
        std::vector<std::pair<std::string, std::string>>{{"n0", "leaf\\n(2, 2)"}});
  const Tensor x = Tensor::zeros({3}, true);
  const Tensor L = mg::mean(x * x);
  CHECK(parse(to_dot(L)).nodes.size() == 3);
  L.backward();
  const Graph freed = parse(to_dot(L));  // backward() released the edges
  CHECK(freed.nodes.size() == 1);
  CHECK(freed.edges.empty());
}

TEST_CASE("to_dot: a chain of 100,000 ops", "[dot]") {
  const Tensor x = Tensor::zeros({1}, true);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  const Graph g = parse(to_dot(y));
  CHECK(g.nodes.size() == 100001);
  CHECK(g.edges.size() == 100000);
  CHECK(g.nodes.back().second == "param\\n(1)");
}

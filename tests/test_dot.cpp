// to_dot: one node per tensor with its op (or leaf/param) and shape, one edge per input, from
// input to output; shared inputs drawn once; deep graphs walked without recursion.
#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/dot.hpp"
#include "core/ops.hpp"

using mg::Tensor;

namespace {

struct Graph {
  std::vector<std::pair<std::string, std::string>> nodes;  // (id, label)
  std::vector<std::pair<std::string, std::string>> edges;  // (from, to)

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

// Reads back the lines to_dot writes: `n3 [label="op\n(2, 2)"...];` and `n1 -> n0;`.
Graph parse(const std::string& dot) {
  Graph g;
  const std::regex node(R"re(^  (n\d+) \[label="([^"]*)")re");
  const std::regex edge(R"(^  (n\d+) -> (n\d+);$)");
  std::istringstream in(dot);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, node)) g.nodes.emplace_back(m[1], m[2]);
    if (std::regex_match(line, m, edge)) g.edges.emplace_back(m[1], m[2]);
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

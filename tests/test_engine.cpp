// The reverse-mode engine: accumulation (a node used twice, two backward calls), zero_grad,
// NoGradGuard, detach, retain_graph and the freed-graph error, explicit and wrong-shaped seeds,
// requires_grad propagation, leaves, retain_grad, a 100,000-op chain, anomaly mode, the order in
// which backward visits a graph, and the tensor's own argument errors.
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"

using Catch::Contains;
using mg::Shape;
using mg::TensorD;

TEST_CASE("engine: a tensor used twice receives the sum of both paths (diamond)", "[engine]") {
  // y = x * x + 3 x: x feeds mul twice and mul_scalar once. dy/dx = 2x + 3.
  TensorD x = TensorD::from_vector({1, -2, 0.5}, {3}, true);
  const TensorD a = x * 3.0;
  const TensorD y = mg::sum(x * x + a);
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{5, -1, 4});

  // A real diamond: u = 2x; v = exp(u); w = u * v; dw/dx = 2 (v + u v).
  TensorD z = TensorD::from_vector({0.3}, {1}, true);
  const TensorD u = z * 2.0;
  const TensorD w = u * mg::exp(u);
  w.backward();
  CHECK(z.grad().item() == Approx(2 * (std::exp(0.6) + 0.6 * std::exp(0.6))));
}

TEST_CASE("engine: gradients accumulate across backward calls until zero_grad", "[engine]") {
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  mg::sum(x * x).backward();  // 2x
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4});
  mg::sum(x * 3.0).backward();  // + 3
  CHECK(x.grad().to_vector() == std::vector<double>{5, 7});

  const double* memory = x.grad().data();
  x.zero_grad();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0});
  CHECK(x.grad().data() == memory);  // the buffer is kept, filled with zeros
  mg::sum(x).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{1, 1});
  x.clear_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("engine: NoGradGuard records no graph", "[engine]") {
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  {
    mg::NoGradGuard no_grad;
    CHECK_FALSE(mg::is_grad_enabled());
    const TensorD y = mg::exp(x) * x;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    CHECK(y.inputs().empty());
    { mg::NoGradGuard nested; }
    CHECK_FALSE(mg::is_grad_enabled());  // the nested guard restored "off", not "on"
  }
  CHECK(mg::is_grad_enabled());
  CHECK(mg::exp(x).requires_grad());
}

TEST_CASE("engine: detach shares the values and cuts the graph", "[engine]") {
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  const TensorD y = x * 2.0;
  TensorD d = y.detach();
  CHECK(d.is_leaf());
  CHECK_FALSE(d.requires_grad());
  CHECK(d.data() == y.data());
  // Gradient flows through y but not through the detached copy: dL/dx = 2 (from y) only.
  mg::sum(y + d).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2});
}

TEST_CASE("engine: backward twice needs retain_graph", "[engine]") {
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  const TensorD loss = mg::sum(x * x);
  loss.backward();
  REQUIRE_THROWS_AS(loss.backward(), mg::GraphError);
  REQUIRE_THROWS_WITH(loss.backward(),
                      "backward: trying to backward through the graph a second time (the output "
                      "of 'sum' was already freed); pass retain_graph = true to the first "
                      "backward() if you need to run it twice");
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4});  // the failed calls changed nothing

  TensorD w = TensorD::from_vector({1, 2}, {2}, true);
  const TensorD kept = mg::sum(w * w);
  kept.backward({}, /*retain_graph=*/true);
  kept.backward();
  CHECK(w.grad().to_vector() == std::vector<double>{4, 8});
  REQUIRE_THROWS_AS(kept.backward(), mg::GraphError);  // the second call freed it
}

TEST_CASE("engine: the seed gradient", "[engine]") {
  TensorD x = TensorD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  const TensorD y = x * 2.0;
  REQUIRE_THROWS_AS(y.backward(), mg::GraphError);
  REQUIRE_THROWS_WITH(y.backward(),
                      "backward: expected a one-element output or an explicit gradient, got an "
                      "output of shape (2, 3) and no gradient");
  REQUIRE_THROWS_AS(y.backward(TensorD::zeros({3, 2})), mg::ShapeError);
  REQUIRE_THROWS_WITH(y.backward(TensorD::zeros({3, 2})),
                      "backward: expected a gradient of shape (2, 3), got (3, 2)");
  y.backward(TensorD::from_vector({1, 0, 0, 0, 0, -1}, {2, 3}));
  CHECK(x.grad().to_vector() == std::vector<double>{2, 0, 0, 0, 0, -2});

  const TensorD c = TensorD::from_vector({1}, {1});
  REQUIRE_THROWS_WITH(c.backward(),
                      "backward: the tensor does not require grad (no input of the ops that made "
                      "it has requires_grad = true)");
}

TEST_CASE("engine: an explicit seed is borrowed, never written, and copied when it must stay",
          "[engine]") {
  const std::vector<double> seed_values = {1, -2, 3, 0.5};
  TensorD x = TensorD::from_vector({1, 2, 3, 4}, {4}, true);
  TensorD dy = TensorD::from_vector(seed_values, {4});
  SECTION("an op's output borrows the seed: the backwards read it and leave it as it was") {
    const TensorD y = mg::exp(x * 0.5) + x;  // the root's backward and its inputs' read dy
    y.backward(dy);
    CHECK(dy.to_vector() == seed_values);
    CHECK_FALSE(y.grad().defined());  // dropped after the root's backward, as before
    const std::vector<double> g = x.grad().to_vector();
    for (size_t i = 0; i < 4; ++i)
      CHECK(g[i] == Approx(seed_values[i] * (0.5 * std::exp(0.5 * (i + 1.0)) + 1)));
    REQUIRE_THROWS_AS(y.backward(dy), mg::GraphError);  // the graph was freed, as without a seed
    CHECK(dy.to_vector() == seed_values);
  }
  SECTION("a root that keeps its gradient gets a copy: changing dy later does not change it") {
    TensorD y = x * 2.0;
    y.retain_grad();
    y.backward(dy);
    dy.flat()(0) = 100;
    CHECK(y.grad().to_vector() == seed_values);
    CHECK(x.grad().to_vector() == std::vector<double>{2, -4, 6, 1});
  }
  SECTION("a seed that is a .grad() of the graph is copied: a backward writes into it") {
    // transpose's backward writes x.grad's transpose into x.grad: reading the seed from the
    // same buffer would read its own output. PyTorch raises here; the gradient is G + G^T.
    TensorD m = TensorD::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, true);
    mg::sum(m * m).backward();  // m.grad = 2 m
    mg::transpose(m).backward(m.grad());
    CHECK(m.grad().to_vector() == std::vector<double>{4, 12, 20, 12, 20, 28, 20, 28, 36});
    mg::transpose(m).backward(mg::reshape(m.grad(), {3, 3}));  // a view of it, too
    CHECK(m.grad().to_vector() == std::vector<double>{8, 24, 40, 24, 40, 56, 40, 56, 72});
  }
  SECTION("a leaf root gets a copy too: its .grad() is the result") {
    x.backward(dy);
    dy.flat()(0) = 100;
    CHECK(x.grad().to_vector() == seed_values);
  }
}

TEST_CASE("engine: requires_grad propagates, leaves and non-leaves", "[engine]") {
  TensorD a = TensorD::from_vector({1, 2}, {2}, true);
  const TensorD b = TensorD::from_vector({3, 4}, {2});
  CHECK(a.is_leaf());
  CHECK(std::string(a.op()).empty());
  const TensorD c = b * 2.0;  // no input requires grad: a leaf, no graph
  CHECK_FALSE(c.requires_grad());
  CHECK(c.is_leaf());
  TensorD d = a * b;
  CHECK(d.requires_grad());
  CHECK_FALSE(d.is_leaf());
  CHECK(std::string(d.op()) == "mul");
  REQUIRE(d.inputs().size() == 2);
  CHECK(d.inputs()[0].same_as(a));
  CHECK(d.inputs()[1].same_as(b));

  REQUIRE_THROWS_AS(d.set_requires_grad(false), mg::GraphError);
  REQUIRE_THROWS_WITH(d.set_requires_grad(false),
                      "set_requires_grad: expected a leaf tensor, got the output of 'mul'; use "
                      "detach() to make a leaf");
  TensorD leaf = b.clone();
  leaf.set_requires_grad(true);
  CHECK(leaf.requires_grad());

  mg::sum(d).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{3, 4});
  CHECK_FALSE(b.grad().defined());  // b does not require grad
  CHECK_FALSE(d.grad().defined());  // a non-leaf's gradient is not kept
}

TEST_CASE("engine: retain_grad keeps a non-leaf's gradient", "[engine]") {
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  TensorD h = x * 3.0;
  h.retain_grad();
  const TensorD other = x * 2.0;
  mg::sum(h * h + other).backward();
  REQUIRE(h.grad().defined());
  CHECK(h.grad().to_vector() == std::vector<double>{6, 12});   // 2h
  CHECK(x.grad().to_vector() == std::vector<double>{20, 38});  // 3 * 2h + 2
}

TEST_CASE("engine: retain_grad on a tensor that needs no gradient is an error, as in PyTorch",
          "[engine]") {
  const std::string message =
      "retain_grad: expected a tensor that requires grad, got one of shape (2) with "
      "requires_grad = false (made under NoGradGuard, or from inputs that need no gradient)";
  mg::Tensor constant = mg::Tensor::zeros(Shape{2});
  CHECK_THROWS_MATCHES(constant.retain_grad(), mg::GraphError, Catch::Message(message));
  mg::Tensor x = mg::Tensor::zeros(Shape{2}, /*requires_grad=*/true);
  mg::Tensor y = x * 2.0;
  {
    mg::NoGradGuard no_grad;
    mg::Tensor z = x * 2.0;
    CHECK_THROWS_WITH(z.retain_grad(), message);
  }
  CHECK_NOTHROW(y.retain_grad());
  CHECK_NOTHROW(x.retain_grad());  // a leaf that requires grad keeps its .grad() anyway
}

TEST_CASE("engine: a chain of 100,000 ops runs backward and is destroyed without recursion",
          "[engine]") {
  mg::Tensor x = mg::Tensor::from_vector({1.f}, {1}, true);
  mg::Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 0.0;
  y.backward({}, /*retain_graph=*/true);
  CHECK(x.grad().item() == 1.f);
  // A second, unbackwarded chain: only the destructor walks it.
  mg::Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z * 1.0;
  CHECK(z.requires_grad());
  z = mg::Tensor();  // the iterative teardown releases 100,000 nodes
  y.backward();
  CHECK(x.grad().item() == 2.f);
}

TEST_CASE("engine: anomaly mode names the op that produced NaN or Inf", "[engine]") {
  const TensorD bad = TensorD::from_vector({1, -1, 2}, {3}, true);
  CHECK_NOTHROW(mg::log(bad));  // off by default: log(-1) is NaN, silently
  {
    mg::DetectAnomalyGuard anomaly;
    REQUIRE_THROWS_AS(mg::log(bad), mg::AnomalyError);
    REQUIRE_THROWS_WITH(mg::log(bad),
                        "anomaly: 'log' produced NaN or Inf in its output (3) (inputs: (3))");
    // sqrt(0) = 0 is fine; its gradient 1 / (2 sqrt(0)) is not.
    TensorD x = TensorD::from_vector({0, 4}, {2}, true);
    const TensorD y = mg::sum(mg::sqrt(x) * 2.0);
    REQUIRE_THROWS_AS(y.backward(), mg::AnomalyError);
  }
  CHECK_FALSE(mg::is_anomaly_enabled());
  mg::set_detect_anomaly(true);
  TensorD x = TensorD::from_vector({0, 4}, {2}, true);
  const TensorD y = mg::sum(mg::sqrt(x) * 2.0);
  CHECK_THROWS_WITH(y.backward(),
                    "anomaly: the backward of 'sqrt' produced NaN or Inf in the gradient of its "
                    "input 0 of shape (2) (output (2))");
  mg::set_detect_anomaly(false);
}

namespace {

// An op that exists only for the visit-order test: y = sum of its inputs; its backward records
// its name before passing dy on, so the test sees the order in which the engine runs backwards.
TensorD traced(const char* name, std::vector<TensorD> inputs, std::vector<std::string>& log) {
  TensorD y = TensorD::zeros(inputs[0].shape());
  for (const TensorD& in : inputs) y.flat() += in.flat();
  y.set_grad_fn(name, inputs, [name, &log](const TensorD& dy, std::span<const TensorD> in) {
    log.push_back(name);
    for (const TensorD& t : in)
      if (t.requires_grad()) t.grad_flat() += dy.flat();
  });
  return y;
}

}  // namespace

TEST_CASE("engine: backward visits the graph in reverse topological order", "[engine]") {
  // The traced example of docs/architecture.md, with its ops' topology:
  //   z = matmul(x, W) + b;  L = mean(tanh(z) * z)      (x does not require grad)
  std::vector<std::string> log;
  const TensorD x = TensorD::zeros({2});
  const TensorD W = TensorD::zeros({2}, true);
  const TensorD b = TensorD::zeros({2}, true);
  const TensorD mm = traced("matmul", {x, W}, log);
  const TensorD z = traced("add", {mm, b}, log);
  const TensorD t = traced("tanh", {z}, log);
  const TensorD m = traced("mul", {t, z}, log);
  const TensorD L = traced("mean", {m}, log);
  L.backward(TensorD::from_vector({1, -1}, {2}));
  CHECK(log == std::vector<std::string>{"mean", "mul", "tanh", "add", "matmul"});
}

TEST_CASE("tensor: argument errors are pinned", "[engine]") {
  REQUIRE_THROWS_AS(TensorD::from_vector({1, 2, 3, 4, 5}, {2, 3}), mg::ShapeError);
  REQUIRE_THROWS_WITH(TensorD::from_vector({1, 2, 3, 4, 5}, {2, 3}),
                      "Tensor::from_vector: expected 6 values for shape (2, 3), got 5");
  REQUIRE_THROWS_AS(TensorD::zeros({2, 3}).item(), mg::ShapeError);
  REQUIRE_THROWS_WITH(TensorD::zeros({2, 3}).item(),
                      "item: expected a tensor with one element, got shape (2, 3)");
  CHECK(TensorD::full({1, 1}, 7).item() == 7);
  REQUIRE_THROWS_WITH(TensorD::zeros({2, 3}).at(2, 0),
                      "at: index 2 out of range for dim 0 of shape (2, 3)");
  REQUIRE_THROWS_WITH(TensorD::zeros({2, 3}).at(1),
                      "at: expected 2 indices for shape (2, 3), got 1");
  REQUIRE_THROWS_WITH(Shape({2, 3, 4, 5}), "Shape: expected a shape of rank 1 to 3, got rank 4");
  REQUIRE_THROWS_WITH(Shape({2, -1}), "Shape: expected non-negative sizes, got -1");
  // A dim past the rank read whatever the shape's storage held there (size(2) of a matrix gave
  // 0, size(3) its rank); negative dims count from the end, as in PyTorch.
  const TensorD m = TensorD::zeros({2, 3});
  CHECK(m.size(-1) == 3);
  CHECK(m.size(-2) == 2);
  REQUIRE_THROWS_AS(m.size(2), mg::ShapeError);
  REQUIRE_THROWS_WITH(m.size(2),
                      "size: expected dim in [-2, 1] for a tensor of shape (2, 3), got 2");
  REQUIRE_THROWS_WITH(m.size(-3),
                      "size: expected dim in [-2, 1] for a tensor of shape (2, 3), got -3");
  REQUIRE_THROWS_WITH(m.shape()[2], "Shape: expected a dim in [0, 2) of shape (2, 3), got 2");
  // alias() shares the values: a shape with more elements would read and write past them.
  REQUIRE_THROWS_AS(m.alias(Shape{100}), mg::ShapeError);
  REQUIRE_THROWS_WITH(
      m.alias(Shape{100}),
      "alias: expected a shape with 6 elements like (2, 3), got (100) (100 elements)");
  CHECK(m.alias(Shape{3, 2}).size(0) == 3);
}

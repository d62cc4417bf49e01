// add, sub, mul, div: gradients (float64 gradcheck, random upstream) for the same shape, a
// scalar constant, a one-element tensor, a (C) vector over (N, C) and a (1, C, 1) tensor over
// (N, C, L); forward values of broadcasting; the broadcast error of each op pinned.
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"

using mg::Shape;
using mg::TensorD;
using mg::testing::normal;
using mg::testing::require_gradcheck;

namespace {

using BinaryOp = TensorD (*)(const TensorD&, const TensorD&);

struct Case {
  const char* name;
  BinaryOp op;
};

const Case kOps[] = {{"add", &mg::add<double>},
                     {"sub", &mg::sub<double>},
                     {"mul", &mg::mul<double>},
                     {"div", &mg::div<double>}};

// The second operand of div is kept away from 0 (|b| >= 0.2).
TensorD second_operand(const char* name, const Shape& s, mg::Generator& gen) {
  return std::string(name) == "div" ? mg::testing::away_from_zero(s, gen) : normal(s, gen);
}

}  // namespace

TEST_CASE("binary ops: gradcheck for operands of the same shape", "[ops][gradcheck]") {
  mg::Generator gen(1);
  for (const Case& c : kOps) {
    for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
      INFO(c.name << " at " << s.str());
      auto f = [&](const std::vector<TensorD>& in) { return c.op(in[0], in[1]); };
      require_gradcheck(f, {normal(s, gen), second_operand(c.name, s, gen)});
    }
  }
}

TEST_CASE("binary ops: gradcheck with broadcasting", "[ops][gradcheck]") {
  mg::Generator gen(2);
  // (a, b) shape pairs: a (C) vector over the rows of (N, C) from either side, a one-element
  // tensor, and a per-channel (1, C, 1) tensor over (N, C, L).
  const std::pair<Shape, Shape> pairs[] = {
      {Shape{4, 3}, Shape{3}},          {Shape{3}, Shape{5, 3}},
      {Shape{3, 4}, Shape{1}},          {Shape{2, 3, 4}, Shape{1, 3, 1}},
      {Shape{1, 3, 1}, Shape{2, 3, 4}}, {Shape{2, 3, 4}, Shape{4}},
      {Shape{2, 1, 4}, Shape{3, 1}}};
  for (const Case& c : kOps) {
    for (const auto& [sa, sb] : pairs) {
      INFO(c.name << ": " << sa.str() << " with " << sb.str());
      auto f = [&](const std::vector<TensorD>& in) { return c.op(in[0], in[1]); };
      require_gradcheck(f, {normal(sa, gen), second_operand(c.name, sb, gen)});
    }
  }
}

TEST_CASE("binary ops: gradcheck with a scalar constant", "[ops][gradcheck]") {
  mg::Generator gen(3);
  using Fn = TensorD (*)(const TensorD&);
  const std::pair<const char*, Fn> ops[] = {{"x + 2.5", [](const TensorD& x) { return x + 2.5; }},
                                            {"1.5 - x", [](const TensorD& x) { return 1.5 - x; }},
                                            {"x - 0.5", [](const TensorD& x) { return x - 0.5; }},
                                            {"x * -0.7", [](const TensorD& x) { return x * -0.7; }},
                                            {"x / 4", [](const TensorD& x) { return x / 4.0; }}};
  for (const auto& [name, op] : ops) {
    for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
      INFO(name << " at " << s.str());
      require_gradcheck([op](const std::vector<TensorD>& in) { return op(in[0]); },
                        {normal(s, gen)});
    }
  }
}

TEST_CASE("binary ops: a tensor divided by a scalar is divided as PyTorch divides it", "[ops]") {
  // x / s rounds once, as PyTorch 1.13's x / s does (0.6f / 3 = 0.200000003f), not twice as
  // x * (1 / s) would (0.200000018f in 40% of these elements), and stays finite where 1 / s
  // does not (1e-5f / 1e-39: 1 / s is inf in float).
  mg::Generator gen(9);
  const mg::Tensor x = mg::Tensor::randn(Shape{1000}, gen, /*requires_grad=*/true);
  const mg::Tensor y = x / 3.0;
  const mg::Tensor dy = mg::Tensor::randn(Shape{1000}, gen);
  y.backward(dy);
  int divided = 0, as_product = 0, grads_divided = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    divided += y.at(i) == x.at(i) / 3.0f;
    as_product += y.at(i) == x.at(i) * (1.0f / 3.0f);
    grads_divided += x.grad().at(i) == dy.at(i) / 3.0f;  // dy/dx = 1 / s: dx = dy / s
  }
  CHECK(divided == 1000);
  CHECK(grads_divided == 1000);
  CHECK(as_product < 1000);  // the two differ on these values: the check above can fail
  CHECK((mg::Tensor::from_vector({0.6f}, Shape{1}) / 3.0).at(0) == 0.6f / 3.0f);
  const mg::Tensor tiny = mg::Tensor::from_vector({1e-5f, -2e-6f}, Shape{2}) / 1e-39;
  CHECK(tiny.at(0) == 1e-5f / 1e-39f);
  CHECK(std::isfinite(tiny.at(1)));
  CHECK(std::string(y.op()) == "div_scalar");
}

TEST_CASE("binary ops: the divisor's gradient stays finite where b squared would not", "[ops]") {
  // db = -dy (a / b) / b, as PyTorch 1.13 computes it; -dy a / (b b) overflows or underflows
  // in b b first. PyTorch 1.13's values for these inputs, float32 and float64.
  const mg::Tensor a = mg::Tensor::from_vector({1e30f, 1e-30f, 1.f}, Shape{3}, true);
  const mg::Tensor b = mg::Tensor::from_vector({1e25f, 1e-25f, 1e20f}, Shape{3}, true);
  mg::div(a, b).backward(mg::Tensor::full(Shape{3}, 1.f));
  CHECK(b.grad().at(0) == -1e30f / 1e25f / 1e25f);       // -1e-20: b b = inf in float
  CHECK(b.grad().at(1) == -(1e-30f / 1e-25f) / 1e-25f);  // -1e20: b b = 0 in float
  CHECK(b.grad().at(2) == -(1.f / 1e20f) / 1e20f);       // -1e-40, a denormal
  CHECK(b.grad().at(2) != 0);
  const TensorD ad = TensorD::from_vector({1e300, 1e-300, -0.0}, Shape{3}, true);
  const TensorD bd = TensorD::from_vector({1e200, 1e-200, 1e-320}, Shape{3}, true);
  mg::div(ad, bd).backward(TensorD::full(Shape{3}, 1.0));
  CHECK(bd.grad().at(0) == -1e-100);
  CHECK(bd.grad().at(1) == -(1e-300 / 1e-200) / 1e-200);  // -1e100
  CHECK(bd.grad().at(2) == 0);                            // not NaN: (-0 / b) / b is -0
}

TEST_CASE("binary ops: with a scalar constant a -0 gradient stays -0 as in PyTorch", "[ops]") {
  // A fresh gradient is written, not added to zeros (+0 + -0 would be +0).
  mg::Tensor x = mg::Tensor::from_vector({1, 2}, Shape{2}, /*requires_grad=*/true);
  const mg::Tensor minus_zero = mg::Tensor::from_vector({-0.0f, -0.0f}, Shape{2});
  const mg::Tensor zero = mg::Tensor::from_vector({0.0f, 0.0f}, Shape{2});
  for (int op = 0; op < 3; ++op) {
    INFO("op " << op);
    x.clear_grad();
    if (op == 0) (x + 1.0).backward(minus_zero);  // dx = dy = -0
    if (op == 1) (x * -1.0).backward(zero);       // dx = -dy = -0
    if (op == 2) (x / -2.0).backward(zero);       // dx = dy / -2 = -0
    CHECK(std::signbit(x.grad().at(0)));
    CHECK(std::signbit(x.grad().at(1)));
  }
}

TEST_CASE("binary ops: broadcast forward values", "[ops]") {
  const TensorD a = TensorD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const TensorD row = TensorD::from_vector({10, 20, 30}, {3});
  CHECK((a + row).to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK((row - a).to_vector() == std::vector<double>{9, 18, 27, 6, 15, 24});
  CHECK((a * row).shape() == Shape{2, 3});

  // (2, 2, 2) * (1, 2, 1): channel c of every sample is scaled by b[c].
  const TensorD x = TensorD::from_vector({1, 1, 1, 1, 2, 2, 2, 2}, {2, 2, 2});
  const TensorD b = TensorD::from_vector({3, 5}, {1, 2, 1});
  CHECK((x * b).to_vector() == std::vector<double>{3, 3, 5, 5, 6, 6, 10, 10});
  CHECK((x / b).shape() == Shape{2, 2, 2});

  // (2, 1) + (3) -> (2, 3): both operands stretch.
  const TensorD col = TensorD::from_vector({100, 200}, {2, 1});
  const TensorD v = TensorD::from_vector({1, 2, 3}, {3});
  CHECK((col + v).to_vector() == std::vector<double>{101, 102, 103, 201, 202, 203});
}

TEST_CASE("binary ops: a broadcast operand's gradient is summed over the stretched dims", "[ops]") {
  TensorD a = TensorD::zeros({2, 3}, true);
  TensorD row = TensorD::zeros({3}, true);
  mg::add(a, row).backward(TensorD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}));
  CHECK(row.grad().to_vector() == std::vector<double>{5, 7, 9});
  CHECK(a.grad().to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("binary ops: shapes that do not broadcast are refused", "[ops]") {
  const TensorD a = TensorD::zeros({2, 3});
  const TensorD b = TensorD::zeros({4});
  REQUIRE_THROWS_AS(mg::add(a, b), mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::add(a, b),
                      "add: expected shapes that broadcast (equal dims, or 1), got (2, 3) and (4)");
  REQUIRE_THROWS_WITH(mg::sub(a, b),
                      "sub: expected shapes that broadcast (equal dims, or 1), got (2, 3) and (4)");
  REQUIRE_THROWS_WITH(mg::mul(b, a),
                      "mul: expected shapes that broadcast (equal dims, or 1), got (4) and (2, 3)");
  REQUIRE_THROWS_WITH(
      mg::div(TensorD::zeros({2, 3, 4}), TensorD::zeros({2, 2, 4})),
      "div: expected shapes that broadcast (equal dims, or 1), got (2, 3, 4) and (2, 2, 4)");
}

namespace {

// y = op(a, b) and y * a (a used twice: both gradients land in a's), then the gradients of a and
// b after two backwards (fresh, then added into), on `threads` threads, for operands of the same
// shape large enough to be split over them.
std::vector<std::vector<double>> same_shape_run(const Case& c, int threads) {
  omp_set_num_threads(threads);
  REQUIRE(omp_get_max_threads() == threads);
  mg::Generator gen(12);
  const Shape shape{mg::kParallelElements + 3, 2};
  TensorD a = normal(shape, gen).set_requires_grad(true);
  TensorD b = second_operand(c.name, shape, gen).set_requires_grad(true);
  const TensorD y = mg::mul(c.op(a, b), a);
  const TensorD dy = normal(shape, gen);
  y.backward(dy, /*retain_graph=*/true);
  y.backward(dy);
  omp_set_num_threads(1);
  return {y.to_vector(), a.grad().to_vector(), b.grad().to_vector()};
}

}  // namespace

TEST_CASE("binary ops: operands of the same shape split over 2 threads give the same bits as on 1",
          "[ops]") {
  for (const Case& c : kOps) {
    INFO(c.name);
    const bool same = same_shape_run(c, 1) == same_shape_run(c, 2);
    CHECK(same);  // a bool: Catch would print every value of the two sides
  }
}

// neg, exp, log, sqrt, pow, relu, tanh, sigmoid: gradients (float64 gradcheck, random upstream)
// at three shapes, inputs kept away from poles (log, sqrt, negative powers near 0) and kinks
// (relu at 0); a few forward values and edge cases.
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"

using mg::Shape;
using mg::TensorD;
using mg::testing::require_gradcheck;

namespace {

enum class Domain { kAny, kPositive, kAwayFromZero };

struct Case {
  const char* name;
  TensorD (*op)(const TensorD&);
  Domain domain;
};

const Case kOps[] = {
    {"neg", [](const TensorD& x) { return mg::neg(x); }, Domain::kAny},
    {"exp", [](const TensorD& x) { return mg::exp(x); }, Domain::kAny},
    {"log", [](const TensorD& x) { return mg::log(x); }, Domain::kPositive},
    {"sqrt", [](const TensorD& x) { return mg::sqrt(x); }, Domain::kPositive},
    {"pow 2", [](const TensorD& x) { return mg::pow(x, 2.0); }, Domain::kAny},
    {"pow 3", [](const TensorD& x) { return mg::pow(x, 3.0); }, Domain::kAny},
    {"pow 0.5", [](const TensorD& x) { return mg::pow(x, 0.5); }, Domain::kPositive},
    {"pow -1.5", [](const TensorD& x) { return mg::pow(x, -1.5); }, Domain::kPositive},
    {"relu", [](const TensorD& x) { return mg::relu(x); }, Domain::kAwayFromZero},
    {"tanh", [](const TensorD& x) { return mg::tanh(x); }, Domain::kAny},
    {"sigmoid", [](const TensorD& x) { return mg::sigmoid(x); }, Domain::kAny},
};

TensorD input(Domain domain, const Shape& s, mg::Generator& gen) {
  switch (domain) {
    case Domain::kPositive:
      return mg::testing::positive(s, gen);
    case Domain::kAwayFromZero:
      return mg::testing::away_from_zero(s, gen);
    case Domain::kAny:
      break;
  }
  return mg::testing::normal(s, gen);
}

}  // namespace

TEST_CASE("unary ops: gradcheck at three shapes", "[ops][gradcheck]") {
  mg::Generator gen(10);
  for (const Case& c : kOps) {
    for (const Shape& s : {Shape{6}, Shape{3, 4}, Shape{2, 3, 2}}) {
      INFO(c.name << " at " << s.str());
      require_gradcheck([&c](const std::vector<TensorD>& in) { return c.op(in[0]); },
                        {input(c.domain, s, gen)});
    }
  }
}

TEST_CASE("unary ops: forward values", "[ops]") {
  const TensorD x = TensorD::from_vector({-2, -0.5, 0, 0.5, 2}, {5});
  CHECK(mg::relu(x).to_vector() == std::vector<double>{0, 0, 0, 0.5, 2});
  CHECK(mg::neg(x).to_vector() == std::vector<double>{2, 0.5, -0, -0.5, -2});
  CHECK(mg::pow(x, 2.0).to_vector() == std::vector<double>{4, 0.25, 0, 0.25, 4});
  const std::vector<double> s = mg::sigmoid(x).to_vector();
  for (size_t i = 0; i < s.size(); ++i) CHECK(s[i] == Approx(1 / (1 + std::exp(-x.at(i)))));
  CHECK(mg::tanh(x).at(4) == Approx(std::tanh(2.0)));
  CHECK(mg::log(mg::exp(x)).at(0) == Approx(-2.0));
  CHECK(mg::sqrt(TensorD::from_vector({9}, {1})).item() == 3.0);
}

TEST_CASE("unary ops: sigmoid does not overflow for large |x|", "[ops]") {
  const TensorD x = TensorD::from_vector({-1000, 1000}, {2});
  CHECK(mg::sigmoid(x).to_vector() == std::vector<double>{0, 1});
  mg::Tensor xf = mg::Tensor::from_vector({-200.f, 200.f}, {2});
  CHECK(mg::sigmoid(xf).to_vector() == std::vector<float>{0.f, 1.f});
}

TEST_CASE("unary ops: relu's gradient at exactly 0 is 0, as in PyTorch", "[ops]") {
  TensorD x = TensorD::from_vector({-1, 0, 1}, {3}, true);
  mg::relu(x).backward(TensorD::from_vector({5, 6, 7}, {3}));
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 7});
}

namespace {

// The op's output, then x's gradient after two backwards (a fresh gradient, then one added into
// it), on `threads` threads, for an x large enough to be split over them.
std::vector<std::vector<double>> forward_and_backward(const Case& c, int threads) {
  omp_set_num_threads(threads);
  REQUIRE(omp_get_max_threads() == threads);
  mg::Generator gen(11);
  const Shape shape{3, mg::kParallelElements / 2 + 7};  // 1.5 times the threshold, split unevenly
  TensorD x = input(c.domain, shape, gen);
  x.set_requires_grad(true);
  const TensorD dy = mg::testing::normal(shape, gen);
  const TensorD y = c.op(x);
  y.backward(dy, /*retain_graph=*/true);
  const std::vector<double> fresh = x.grad().to_vector();
  y.backward(dy);
  omp_set_num_threads(1);
  return {y.to_vector(), fresh, x.grad().to_vector()};
}

}  // namespace

TEST_CASE("unary ops: split over 2 threads give the same bits as on 1", "[ops]") {
  for (const Case& c : kOps) {
    INFO(c.name);
    const bool same = forward_and_backward(c, 1) == forward_and_backward(c, 2);
    CHECK(same);  // a bool: Catch would print every value of the two sides
  }
}

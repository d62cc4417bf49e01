// Swish: values, the gradient check in float64 with a random upstream, and accumulation.
#define CATCH_CONFIG_MAIN
#include <cmath>

#include <catch2/catch.hpp>

#include <minigrad/minigrad.hpp>

#include "swish.hpp"

TEST_CASE("Swish: y = x * sigmoid(x)", "[swish]") {
  custom::Swish swish;
  const mg::Tensor x = mg::Tensor::from_vector({-2, 0, 1}, mg::Shape{3});
  const std::vector<float> y = swish(x).to_vector();
  CHECK(y[0] == Approx(-0.2384058f));  // -2 / (1 + e^2)
  CHECK(y[1] == 0.0f);
  CHECK(y[2] == Approx(0.7310586f));  // 1 / (1 + e^-1)
}

TEST_CASE("Swish: gradcheck in float64 with a random upstream", "[swish]") {
  mg::Generator gen(5);
  custom::BasicSwish<double> swish;
  for (mg::Shape shape : {mg::Shape{7}, mg::Shape{3, 4}, mg::Shape{2, 3, 2}}) {
    const mg::TensorD x = mg::TensorD::randn(shape, gen) * 3.0;
    const mg::GradcheckResult r = mg::nn::gradcheck_module(swish, x, {.seed = 2});
    INFO(r.report());
    CHECK(r.ok);
    CHECK(r.checked == x.numel());
  }
}

TEST_CASE("Swish: the backward accumulates", "[swish]") {
  custom::BasicSwish<double> swish;
  const mg::TensorD x = mg::TensorD::from_vector({0.5, -1.5}, mg::Shape{2}, true);
  // y = swish(x) + x: dx = swish'(x) + 1, with swish'(x) = s (1 + x (1 - s)).
  mg::sum(mg::add(swish(x), x)).backward();
  for (int i = 0; i < 2; ++i) {
    const double v = x.data()[i], s = 1 / (1 + std::exp(-v));
    CHECK(x.grad().data()[i] == Approx(s * (1 + v * (1 - s)) + 1));
  }
}

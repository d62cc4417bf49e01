// LeakyReLU: PyTorch's values for three slopes (the default, 0.2, a negative one), the slope
// at x = 0, a float64 gradcheck, and the pinned error.
#include <cmath>
#include <limits>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "activation_fixture.hpp"
#include "check_gradient.hpp"
#include "layers/leaky_relu.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("LeakyReLU matches PyTorch forward and backward", "[leaky_relu]") {
  for (const auto& [name, slope] :
       {std::pair{"leaky_relu", 0.01}, std::pair{"leaky_relu negative_slope=0.2", 0.2},
        std::pair{"leaky_relu negative_slope=-1.5", -1.5}}) {
    mg::nn::LeakyReLU leaky({.negative_slope = slope});
    // Exact: one product per element, rounded as PyTorch rounds it.
    mg::testing::require_matches_pytorch(leaky, name, 0.0);
    CHECK(leaky.repr() == mg::testing::activation_case(name).at("repr"));
  }
}

TEST_CASE("LeakyReLU's gradient at x = 0 is the slope, as in PyTorch", "[leaky_relu]") {
  mg::nn::LeakyReLU leaky({.negative_slope = 0.25});
  const Tensor x = Tensor::from_vector({0.0f, -0.0f, 2.0f}, Shape{3}, true);
  const Tensor y = leaky(x);
  y.backward(Tensor::full(Shape{3}, 1.0f));
  CHECK(x.grad().to_vector() == std::vector<float>{0.25f, 0.25f, 1.0f});
}

TEST_CASE("LeakyReLU gradcheck in float64", "[leaky_relu]") {
  mg::Generator gen(14);
  mg::nn::BasicLeakyReLU<double> leaky({.negative_slope = 0.1});
  // Values away from 0, where the slope changes and central differences would straddle it.
  const TensorD x = mg::testing::away_from_zero(Shape{4, 3, 2}, gen);
  mg::testing::require_gradcheck([&](const std::vector<TensorD>& in) { return leaky(in[0]); }, {x});
}

TEST_CASE("LeakyReLU refuses a slope that is not finite", "[leaky_relu]") {
  CHECK_THROWS_MATCHES(
      mg::nn::LeakyReLU({.negative_slope = std::numeric_limits<double>::quiet_NaN()}),
      std::invalid_argument,
      Catch::Message("LeakyReLU: expected a finite negative_slope, got nan"));
  CHECK_THROWS_MATCHES(
      mg::nn::LeakyReLU({.negative_slope = std::numeric_limits<double>::infinity()}),
      std::invalid_argument,
      Catch::Message("LeakyReLU: expected a finite negative_slope, got inf"));
  CHECK(mg::nn::LeakyReLU().named_parameters().empty());
}

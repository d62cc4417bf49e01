// Sigmoid: PyTorch's values and gradients (saturated tails included), a float64 gradcheck.
#include <cmath>

#include <catch2/catch.hpp>

#include "activation_fixture.hpp"
#include "check_gradient.hpp"
#include "layers/sigmoid.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("Sigmoid matches PyTorch forward and backward", "[sigmoid]") {
  mg::nn::Sigmoid sigmoid;
  mg::testing::require_matches_pytorch(sigmoid, "sigmoid", 1e-6);
  CHECK(sigmoid.repr() == mg::testing::activation_case("sigmoid").at("repr"));
}

TEST_CASE("Sigmoid gradcheck in float64", "[sigmoid]") {
  mg::Generator gen(12);
  mg::nn::BasicSigmoid<double> sigmoid;
  const TensorD x = mg::testing::normal(Shape{5, 4}, gen);
  mg::testing::require_gradcheck([&](const std::vector<TensorD>& in) { return sigmoid(in[0]); },
                                 {x});
}

TEST_CASE("Sigmoid is 1/2 at 0, symmetric, finite in the tails, with no parameters", "[sigmoid]") {
  mg::nn::Sigmoid sigmoid;
  const Tensor x = Tensor::from_vector({-200, -2, 0, 2, 200, 1}, Shape{6});
  const Tensor y = sigmoid(x);
  CHECK(y.at(2) == 0.5f);
  CHECK(y.at(1) == Approx(1 - y.at(3)).epsilon(1e-6));
  CHECK(y.at(0) == 0.0f);  // e^-200 underflows to 0 in float, without a NaN
  CHECK(y.at(4) == 1.0f);
  CHECK(sigmoid.named_parameters().empty());
}

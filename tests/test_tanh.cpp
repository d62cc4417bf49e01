// Tanh: PyTorch's values and gradients (saturated tails included), a float64 gradcheck.
#include <catch2/catch.hpp>

#include "activation_fixture.hpp"
#include "check_gradient.hpp"
#include "layers/tanh.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("Tanh matches PyTorch forward and backward", "[tanh]") {
  mg::nn::Tanh tanh;
  mg::testing::require_matches_pytorch(tanh, "tanh", 1e-6);
  CHECK(tanh.repr() == mg::testing::activation_case("tanh").at("repr"));
}

TEST_CASE("Tanh gradcheck in float64", "[tanh]") {
  mg::Generator gen(11);
  mg::nn::BasicTanh<double> tanh;
  const TensorD x = mg::testing::normal(Shape{4, 3, 2}, gen);
  mg::testing::require_gradcheck([&](const std::vector<TensorD>& in) { return tanh(in[0]); }, {x});
}

TEST_CASE("Tanh keeps the shape, is odd and bounded, and has no parameters", "[tanh]") {
  mg::nn::Tanh tanh;
  const Tensor x = Tensor::from_vector({-50, -1, 0, 1, 50, 0.5}, Shape{2, 3});
  const Tensor y = tanh(x);
  CHECK(y.shape() == Shape{2, 3});
  CHECK(y.at(0, 0) == -1.0f);
  CHECK(y.at(1, 1) == 1.0f);
  CHECK(y.at(0, 1) == -y.at(1, 0));
  CHECK(y.at(0, 2) == 0.0f);
  CHECK(tanh.named_parameters().empty());
}

// ReLU: PyTorch's values (including relu'(0) = 0), a float64 gradcheck, shape preservation.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "check_gradient.hpp"
#include "core/ops.hpp"
#include "fixture_json.hpp"
#include "layers/relu.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("ReLU matches PyTorch forward and backward, with exact zeros in x", "[relu]") {
  const nlohmann::json c = mg::testing::load_fixture("layers.json").at("cases").at("relu");
  mg::nn::ReLU relu;
  const Tensor x = mg::testing::fixture_tensor<float>(c.at("x"), /*requires_grad=*/true);
  REQUIRE(x.at(0, 0) == 0.0f);
  const Tensor y = relu(x);
  mg::testing::require_close(y, c.at("y"), 0.0);  // max(x, 0) is exact
  y.backward(mg::testing::fixture_tensor<float>(c.at("dy")));
  mg::testing::require_close(x.grad(), c.at("dx"), 0.0);
  CHECK(x.grad().at(0, 0) == 0.0f);
}

TEST_CASE("ReLU gradcheck in float64", "[relu]") {
  mg::Generator gen(2);
  mg::nn::BasicReLU<double> relu;
  // Values away from 0, where relu has no derivative and central differences would straddle it.
  const TensorD x = mg::testing::away_from_zero(Shape{4, 3, 2}, gen);
  mg::testing::require_gradcheck([&](const std::vector<TensorD>& in) { return relu(in[0]); }, {x});
}

TEST_CASE("ReLU keeps the shape, has no parameters and prints like PyTorch", "[relu]") {
  mg::nn::ReLU relu;
  const Tensor x = Tensor::from_vector({-1, 2, -3, 4, 0, -0.5}, Shape{1, 2, 3});
  const Tensor y = relu(x);
  CHECK(y.shape() == Shape{1, 2, 3});
  CHECK(y.to_vector() == std::vector<float>{0, 2, 0, 4, 0, 0});
  CHECK(relu.named_parameters().empty());
  CHECK(relu.repr() == "ReLU()");
}

TEST_CASE("ReLU keeps NaN as NaN and passes its gradient on, as PyTorch", "[relu]") {
  // torch.relu(nan) is nan (a diverged value must stay visible downstream), and its backward,
  // threshold_backward(dy, y, 0), zeroes dy only where y <= 0, which NaN is not.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector({nan, -1.f, 0.f, 2.f}, Shape{4}, /*requires_grad=*/true);
  const Tensor y = mg::nn::ReLU()(x);
  CHECK(std::isnan(y.at(0)));
  CHECK(y.at(1) == 0.f);
  CHECK(y.at(2) == 0.f);
  CHECK(y.at(3) == 2.f);
  y.backward(Tensor::full(Shape{4}, 0.75f));
  CHECK(x.grad().to_vector() == std::vector<float>{0.75f, 0.f, 0.f, 0.75f});
}

TEST_CASE("ReLU keeps the sign of a zero and passes NaN on, as PyTorch does", "[relu]") {
  // PyTorch 1.13: relu(-0.0) is -0.0 (signbit set), relu(nan) is nan, and the gradient at
  // either zero is +0.
  const mg::Tensor x = mg::Tensor::from_vector({-0.0f, 0.0f, NAN, -1.0f}, mg::Shape{4}, true);
  const mg::Tensor y = mg::relu(x);
  CHECK(std::signbit(y.at(0)));
  CHECK_FALSE(std::signbit(y.at(1)));
  CHECK(std::isnan(y.at(2)));
  CHECK(y.at(3) == 0.0f);
  CHECK_FALSE(std::signbit(y.at(3)));
  y.backward(mg::Tensor::full(mg::Shape{4}, -1.0f));
  CHECK(x.grad().at(0) == 0.0f);
  CHECK_FALSE(std::signbit(x.grad().at(0)));
}

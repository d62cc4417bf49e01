// Linear: PyTorch's init (bounds, seeding), forward and backward against PyTorch, a float64
// gradcheck of input, weight and bias, the single fused node, accumulation, and pinned errors.
#include <cmath>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "fixture_json.hpp"
#include "layers/linear.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;
using mg::nn::BasicLinear;
using mg::nn::Linear;

TEST_CASE("Linear has PyTorch's shapes and uniform init in +-1/sqrt(in)", "[linear]") {
  mg::Generator gen(1);
  Linear layer(64, 32, {}, gen);
  REQUIRE(layer.weight.shape() == Shape{32, 64});
  REQUIRE(layer.bias.shape() == Shape{32});
  REQUIRE(layer.weight.requires_grad());
  REQUIRE(layer.bias.requires_grad());
  const float bound = 1.0f / 8.0f;  // 1 / sqrt(64)
  // 2048 draws fill the interval: the largest |w| is near the bound, and none is beyond it.
  const float w_max = layer.weight.flat().abs().maxCoeff();
  CHECK(w_max <= bound);
  CHECK(w_max > 0.99f * bound);
  CHECK(std::abs(layer.weight.flat().mean()) < 0.01f);
  CHECK(layer.bias.flat().abs().maxCoeff() <= bound);
  CHECK(layer.bias.flat().abs().maxCoeff() > 0.5f * bound);
}

TEST_CASE("Linear: the same seed gives the same weights, another seed others", "[linear]") {
  mg::Generator a(7), b(7), c(8);
  Linear la(5, 3, {}, a), lb(5, 3, {}, b), lc(5, 3, {}, c);
  CHECK(la.weight.to_vector() == lb.weight.to_vector());
  CHECK(la.bias.to_vector() == lb.bias.to_vector());
  CHECK(la.weight.to_vector() != lc.weight.to_vector());

  // Through the default generator, as a training program seeds it.
  mg::manual_seed(3);
  Linear first(4, 2);
  mg::manual_seed(3);
  Linear second(4, 2);
  CHECK(first.weight.to_vector() == second.weight.to_vector());
  CHECK(first.bias.to_vector() == second.bias.to_vector());
}

TEST_CASE("Linear without bias has only a weight", "[linear]") {
  Linear layer(3, 2, {.bias = false});
  CHECK_FALSE(layer.bias.defined());
  const auto params = layer.named_parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0].first == "weight");
  CHECK(layer.repr() == "Linear(in_features=3, out_features=2, bias=false)");
  // y = x W^T exactly: x = e_1 picks W's first column.
  const Tensor y = layer(Tensor::from_vector({1, 0, 0}, Shape{1, 3}));
  CHECK(y.at(0, 0) == layer.weight.at(0, 0));
  CHECK(y.at(0, 1) == layer.weight.at(1, 0));
}

TEST_CASE("Linear matches PyTorch forward and backward (float32)", "[linear]") {
  const nlohmann::json fixture = mg::testing::load_fixture("layers.json");
  for (const char* name : {"linear", "linear_no_bias"}) {
    SECTION(name) {
      const nlohmann::json& c = fixture.at("cases").at(name);
      const Tensor w = mg::testing::fixture_tensor<float>(c.at("params").at("weight"));
      const bool has_bias = c.at("params").contains("bias");
      Linear layer(w.size(1), w.size(0), {.bias = has_bias});
      layer.weight.flat() = w.flat();
      if (has_bias)
        layer.bias.flat() = mg::testing::fixture_tensor<float>(c["params"]["bias"]).flat();

      const Tensor x = mg::testing::fixture_tensor<float>(c.at("x"), /*requires_grad=*/true);
      const Tensor y = layer(x);
      mg::testing::require_close(y, c.at("y"), 1e-5);
      y.backward(mg::testing::fixture_tensor<float>(c.at("dy")));
      mg::testing::require_close(x.grad(), c.at("dx"), 1e-5);
      for (const auto& [pname, p] : layer.named_parameters()) {
        INFO(pname);
        mg::testing::require_close(p.grad(), c.at("dparams").at(pname), 1e-5);
      }
    }
  }
}

TEST_CASE("Linear gradcheck in float64: input, weight and bias", "[linear]") {
  mg::Generator gen(11);
  for (bool bias : {true, false}) {
    SECTION(bias ? "with bias" : "without bias") {
      BasicLinear<double> layer(4, 3, {.bias = bias}, gen);
      const TensorD x = TensorD::randn(Shape{5, 4}, gen);
      const mg::GradcheckResult r =
          mg::gradcheck([&](const std::vector<TensorD>& in) { return layer(in[0]); }, {x},
                        layer.named_parameters(), {.seed = 5});
      INFO(r.report());
      CHECK(r.checked == 5 * 4 + 3 * 4 + (bias ? 3 : 0));
      CHECK(r.ok);
      CHECK(r.max_error < 1e-6);
    }
  }
}

TEST_CASE("Linear is one autograd node whose inputs are x, weight and bias", "[linear]") {
  Linear layer(3, 2);
  const Tensor x = Tensor::zeros(Shape{4, 3}, /*requires_grad=*/true);
  const Tensor y = layer(x);
  CHECK(std::string(y.op()) == "linear");
  REQUIRE(y.inputs().size() == 3);
  CHECK(y.inputs()[0].same_as(x));
  CHECK(y.inputs()[1].same_as(layer.weight));
  CHECK(y.inputs()[2].same_as(layer.bias));
}

TEST_CASE("Linear accumulates gradients when used twice", "[linear]") {
  mg::Generator gen(3);
  BasicLinear<double> layer(3, 2, {}, gen);
  const TensorD x = TensorD::randn(Shape{4, 3}, gen);
  const TensorD a = TensorD::randn(Shape{4, 2}, gen);
  const TensorD b = TensorD::randn(Shape{4, 2}, gen);
  // L = sum(layer(x) * a) + sum(layer(x) * b): dW = a^T x + b^T x, db = sum_n (a + b)
  mg::sum(layer(x) * a + layer(x) * b).backward();
  const Eigen::MatrixXd dW = (a.matrix() + b.matrix()).transpose() * x.matrix();
  CHECK((layer.weight.grad().matrix() - dW).cwiseAbs().maxCoeff() < 1e-12);
  const Eigen::RowVectorXd db = (a.matrix() + b.matrix()).colwise().sum();
  CHECK((layer.bias.grad().matrix() - db).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Linear errors name the layer, the expected and the actual shape", "[linear]") {
  Linear layer(4, 2);
  CHECK_THROWS_MATCHES(layer(Tensor::zeros(Shape{8, 3})), mg::ShapeError,
                       Catch::Message("Linear: expected input with 4 features, got (8, 3)"));
  CHECK_THROWS_MATCHES(layer(Tensor::zeros(Shape{4})), mg::ShapeError,
                       Catch::Message("Linear: expected input of shape (N, 4), got (4)"));
  CHECK_THROWS_MATCHES(layer(Tensor::zeros(Shape{2, 4, 1})), mg::ShapeError,
                       Catch::Message("Linear: expected input of shape (N, 4), got (2, 4, 1)"));
  CHECK_THROWS_MATCHES(
      Linear(0, 3), std::invalid_argument,
      Catch::Message("Linear: expected in_features > 0 and out_features > 0, got in_features=0, "
                     "out_features=3"));
  CHECK_THROWS_MATCHES(
      Linear(2, -1), std::invalid_argument,
      Catch::Message("Linear: expected in_features > 0 and out_features > 0, got in_features=2, "
                     "out_features=-1"));
  // A weight whose element count overflows is refused before anything is allocated, by name.
  CHECK_THROWS_MATCHES(
      Linear(int64_t{1} << 32, int64_t{1} << 32), mg::ShapeError,
      Catch::Message("Linear: expected at most 2^63 - 1 elements, got shape (4294967296, "
                     "4294967296) (the count overflows)"));
}

TEST_CASE("Linear prints like PyTorch", "[linear]") {
  CHECK(Linear(2, 64).repr() == "Linear(in_features=2, out_features=64, bias=true)");
}

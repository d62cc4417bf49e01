// Identity: returns its input itself, so gradients reach it unchanged.
#include <catch2/catch.hpp>

#include "activation_fixture.hpp"
#include "check_gradient.hpp"
#include "core/ops.hpp"
#include "layers/gradcheck_module.hpp"
#include "layers/identity.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("Identity matches PyTorch forward and backward", "[identity]") {
  mg::nn::Identity identity;
  mg::testing::require_matches_pytorch(identity, "identity", 0.0);
  CHECK(identity.repr() == mg::testing::activation_case("identity").at("repr"));
}

TEST_CASE("Identity gradcheck in float64, inside a Sequential", "[identity]") {
  mg::Generator gen(13);
  mg::nn::BasicSequential<double> net;
  net.push_back(mg::nn::BasicLinear<double>(3, 4, {}, gen));
  net.push_back(mg::nn::BasicIdentity<double>());
  const TensorD x = mg::testing::normal(Shape{5, 3}, gen);
  const mg::GradcheckResult r = mg::nn::gradcheck_module(net, x);
  INFO(r.report());
  CHECK(r.ok);
  CHECK(r.max_error < 1e-6);
}

TEST_CASE("Identity returns the same tensor and records nothing", "[identity]") {
  mg::nn::Identity identity;
  const Tensor x = Tensor::full(Shape{2, 3}, 1.5f, true);
  const Tensor y = identity(x);
  CHECK(y.same_as(x));
  CHECK(y.is_leaf());
  identity.eval();
  CHECK(identity(x).same_as(x));
  CHECK(identity.named_parameters().empty());
}

// Sequential: PyTorch's values for an MLP (Linear-ReLU-Linear), a float64 gradcheck through the
// chain, ownership and access (push_back, operator[], at<M>), and PyTorch's printout.
#include <stdexcept>

#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "fixture_json.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;
using mg::nn::Linear;
using mg::nn::ReLU;
using mg::nn::Sequential;

namespace {

// Linear(3, 8) -> ReLU -> Linear(8, 2), PyTorch's layout of the fixture's MLP.
Sequential make_mlp() {
  Sequential net;
  net.push_back(Linear(3, 8));
  net.push_back(ReLU());
  net.push_back(Linear(8, 2));
  return net;
}

}  // namespace

TEST_CASE("Sequential MLP matches PyTorch forward and backward (float32)", "[sequential]") {
  const nlohmann::json c = mg::testing::load_fixture("layers.json").at("cases").at("mlp");
  Sequential net = make_mlp();
  mg::nn::StateDict<float> state;
  for (const auto& [name, t] : c.at("params").items())
    state.emplace_back(name, mg::testing::fixture_tensor<float>(t));
  net.load_state_dict(state);

  const Tensor x = mg::testing::fixture_tensor<float>(c.at("x"), /*requires_grad=*/true);
  const Tensor y = net(x);
  mg::testing::require_close(y, c.at("y"), 1e-5);
  y.backward(mg::testing::fixture_tensor<float>(c.at("dy")));
  mg::testing::require_close(x.grad(), c.at("dx"), 1e-5);
  const auto params = net.named_parameters();
  REQUIRE(params.size() == c.at("dparams").size());
  for (const auto& [name, p] : params) {
    INFO(name);
    mg::testing::require_close(p.grad(), c.at("dparams").at(name), 1e-5);
  }
}

TEST_CASE("Sequential gradcheck in float64 through Linear-ReLU-Linear", "[sequential]") {
  mg::Generator gen(21);
  mg::nn::BasicSequential<double> net;
  net.push_back(mg::nn::BasicLinear<double>(3, 5, {}, gen));
  net.push_back(mg::nn::BasicReLU<double>());
  net.push_back(mg::nn::BasicLinear<double>(5, 2, {}, gen));
  const TensorD x = TensorD::randn(Shape{4, 3}, gen);
  const mg::GradcheckResult r =
      mg::gradcheck([&](const std::vector<TensorD>& in) { return net(in[0]); }, {x},
                    net.named_parameters(), {.seed = 9});
  INFO(r.report());
  CHECK(r.checked == 4 * 3 + (5 * 3 + 5) + (2 * 5 + 2));
  CHECK(r.ok);
  CHECK(r.max_error < 1e-6);
}

TEST_CASE("Sequential owns its modules and gives them back by index and type", "[sequential]") {
  Sequential net;
  Linear& first = net.push_back(Linear(2, 4));
  net.push_back(ReLU());
  REQUIRE(net.size() == 2);
  // push_back returns the stored module: a change through it is a change to the network's.
  CHECK(&net[0] == &first);
  CHECK(&net.at<Linear>(0) == &first);
  CHECK(net.at<ReLU>(1).repr() == "ReLU()");
  const auto children = net.children();
  REQUIRE(children.size() == 2);
  CHECK(children[0].first == "0");
  CHECK(children[1].first == "1");

  CHECK_THROWS_MATCHES(net[2], std::out_of_range,
                       Catch::Message("Sequential: expected an index below 2, got 2"));
  CHECK_THROWS_MATCHES(net.at<Linear>(5), std::out_of_range,
                       Catch::Message("Sequential: expected an index below 2, got 5"));
  CHECK_THROWS_MATCHES(net.at<Linear>(1), std::invalid_argument,
                       Catch::Message("Sequential: module 1 is ReLU(), not the type asked for"));
}

TEST_CASE("Sequential chains its modules in order, and empty it passes x through", "[sequential]") {
  Sequential net;
  const Tensor x = Tensor::from_vector({-1, 2}, Shape{1, 2});
  CHECK(net(x).same_as(x));
  Linear& lin = net.push_back(Linear(2, 2, {.bias = false}));
  net.push_back(ReLU());
  // W = [[1, 0], [0, -1]]: x W^T = (-1, -2), relu -> (0, 0); in the other order it would be
  // relu(x) W^T = (0, -2).
  lin.weight.flat() << 1, 0, 0, -1;
  CHECK(net(x).to_vector() == std::vector<float>{0, 0});
  Sequential reversed;
  reversed.push_back(ReLU());
  reversed.push_back(Linear(2, 2, {.bias = false})).weight.flat() << 1, 0, 0, -1;
  CHECK(reversed(x).to_vector() == std::vector<float>{0, -2});
}

TEST_CASE("Sequential prints its children like PyTorch, nested ones indented", "[sequential]") {
  Sequential inner;
  inner.push_back(Linear(4, 2));
  inner.push_back(ReLU());
  Sequential net;
  net.push_back(Linear(2, 4, {.bias = false}));
  net.push_back(std::move(inner));
  CHECK(net.repr() ==
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=4, bias=false)\n"
        "  (1): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=2, bias=true)\n"
        "    (1): ReLU()\n"
        "  )\n"
        ")");
  CHECK(Sequential().repr() == "Sequential()");
  // Nested names are dotted, as in PyTorch.
  const auto params = net.named_parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0].first == "0.weight");
  CHECK(params[1].first == "1.0.weight");
  CHECK(params[2].first == "1.0.bias");
}

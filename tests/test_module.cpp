// The Module base through a Sequential(Linear, ReLU, Linear): parameter names and order,
// PyTorch's state_dict keys, load_state_dict's checks (each error pinned, the module unchanged),
// train/eval recursion, zero_grad, and parameters() sharing the layers' tensors.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "fixture_json.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

using mg::Shape;
using mg::Tensor;
using mg::nn::Linear;
using mg::nn::ReLU;
using mg::nn::Sequential;
using mg::nn::StateDict;

namespace {

Sequential make_mlp() {
  Sequential net;
  net.push_back(Linear(3, 8));
  net.push_back(ReLU());
  net.push_back(Linear(8, 2));
  return net;
}

std::vector<std::string> keys(const StateDict<float>& state) {
  std::vector<std::string> out;
  for (const auto& [name, value] : state) out.push_back(name);
  return out;
}

// Every parameter's values, to compare a module before and after a call.
std::vector<std::vector<float>> snapshot(Sequential& net) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : net.parameters()) out.push_back(p.to_vector());
  return out;
}

// A state_dict with the module's keys and shapes and new values (every element 7).
StateDict<float> sevens(Sequential& net) {
  StateDict<float> out;
  for (const auto& [name, p] : net.named_parameters())
    out.emplace_back(name, Tensor::full(p.shape(), 7.0f));
  return out;
}

}  // namespace

TEST_CASE("named_parameters: dotted names in module order", "[module]") {
  Sequential net = make_mlp();
  const auto params = net.named_parameters();
  std::vector<std::string> names;
  for (const auto& [name, p] : params) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(params[0].second.same_as(net.at<Linear>(0).weight));
  CHECK(params[3].second.same_as(net.at<Linear>(2).bias));
}

TEST_CASE("state_dict keys are PyTorch's, in PyTorch's order", "[module]") {
  const nlohmann::json c = mg::testing::load_fixture("layers.json").at("cases").at("mlp");
  Sequential net = make_mlp();
  CHECK(keys(net.state_dict()) == c.at("state_dict_keys").get<std::vector<std::string>>());
}

TEST_CASE("load_state_dict copies the values into the module's own tensors", "[module]") {
  Sequential net = make_mlp();
  const Tensor weight = net.at<Linear>(0).weight;
  net.load_state_dict(sevens(net));
  CHECK(net.at<Linear>(0).weight.same_as(weight));  // the same tensor, new values
  for (const Tensor& p : net.parameters()) CHECK((p.flat() == 7.0f).all());
}

TEST_CASE("load_state_dict refuses bad input and leaves the module unchanged", "[module]") {
  Sequential net = make_mlp();
  const auto before = snapshot(net);
  StateDict<float> state = sevens(net);

  SECTION("a missing key") {
    state.pop_back();
    CHECK_THROWS_MATCHES(
        net.load_state_dict(state), std::invalid_argument,
        Catch::Message("load_state_dict: missing keys [2.bias], unexpected keys []"));
  }
  SECTION("an unexpected key") {
    state.emplace_back("3.weight", Tensor::zeros(Shape{2}));
    CHECK_THROWS_MATCHES(
        net.load_state_dict(state), std::invalid_argument,
        Catch::Message("load_state_dict: missing keys [], unexpected keys [3.weight]"));
  }
  SECTION("a wrong shape") {
    state[2].second = Tensor::full(Shape{8, 2}, 7.0f);  // 2.weight is (2, 8)
    CHECK_THROWS_MATCHES(
        net.load_state_dict(state), std::invalid_argument,
        Catch::Message("load_state_dict: expected '2.weight' of shape (2, 8), got (8, 2)"));
  }
  SECTION("a counter where a tensor belongs") {
    state[1].second = int64_t{3};
    CHECK_THROWS_MATCHES(
        net.load_state_dict(state), std::invalid_argument,
        Catch::Message(
            "load_state_dict: expected '0.bias' to be a tensor, got an integer counter"));
  }
  SECTION("a key given twice") {
    state.push_back(state[0]);
    CHECK_THROWS_MATCHES(net.load_state_dict(state), std::invalid_argument,
                         Catch::Message("load_state_dict: key '0.weight' appears twice"));
  }
  CHECK(snapshot(net) == before);
}

TEST_CASE("train() and eval() reach every child", "[module]") {
  Sequential inner;
  inner.push_back(ReLU());
  Sequential net = make_mlp();
  net.push_back(std::move(inner));
  CHECK(net.is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net[0].is_training());
  CHECK_FALSE(net.at<Sequential>(3)[0].is_training());
  net.train();
  CHECK(net[2].is_training());
  CHECK(net.at<Sequential>(3)[0].is_training());
}

TEST_CASE("zero_grad zero-fills every parameter's gradient", "[module]") {
  Sequential net = make_mlp();
  const Tensor x = Tensor::full(Shape{4, 3}, 1.0f);
  net(x).backward(Tensor::full(Shape{4, 2}, 1.0f));
  const Tensor last_bias = net.at<Linear>(2).bias;
  REQUIRE((last_bias.grad().flat() == 4.0f).all());  // db = sum over the batch of dy = 1
  net.zero_grad();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK((p.grad().flat() == 0.0f).all());
  }
}

TEST_CASE("parameters() shares the layers' tensors: an update through it is seen", "[module]") {
  Sequential net = make_mlp();
  const std::vector<float> before = net.at<Linear>(2).weight.to_vector();
  std::vector<Tensor> params = net.parameters();
  REQUIRE(params.size() == 4);
  params[2].flat() += 1.0f;  // 2.weight
  const std::vector<float> after = net.at<Linear>(2).weight.to_vector();
  for (size_t i = 0; i < before.size(); ++i) CHECK(after[i] == before[i] + 1.0f);
}

namespace {

// Sequential(first, ReLU, second, ReLU, Linear(3, 1)) with second.weight = first.weight.
Sequential make_tied(const nlohmann::json& tied) {
  Sequential net;
  Linear& first = net.push_back(Linear(3, 3));
  net.push_back(ReLU());
  Linear& second = net.push_back(Linear(3, 3));
  net.push_back(ReLU());
  net.push_back(Linear(3, 1));
  second.weight = first.weight;  // one tensor, two layers
  for (auto& [name, p] : net.named_parameters())
    p.flat() = mg::testing::fixture_tensor<float>(tied.at("initial").at(name)).flat();
  return net;
}

// One module at two places: Sequential can only own, so a module lists a child twice.
struct Twice : mg::nn::Module {
  mg::nn::BatchNorm1d shared{2};
  Tensor forward(const Tensor& x) override { return shared(shared(x)); }
  std::string repr() const override { return "Twice"; }
  std::vector<std::pair<std::string, mg::nn::Module*>> children() override {
    return {{"0", &shared}, {"1", &shared}};
  }
};

}  // namespace

TEST_CASE("Module: tied weights appear once in parameters(), as in PyTorch", "[module]") {
  const nlohmann::json tied = mg::testing::load_fixture("engine.json").at("tied");
  Sequential net = make_tied(tied);
  std::vector<std::string> names, keys;
  for (const auto& [name, p] : net.named_parameters()) names.push_back(name);
  for (const auto& [key, value] : net.state_dict()) keys.push_back(key);
  CHECK(names == tied.at("names").get<std::vector<std::string>>());           // 2.weight left out
  CHECK(keys == tied.at("state_dict_keys").get<std::vector<std::string>>());  // all keys
  CHECK(net.parameters().size() == 5);
  REQUIRE_NOTHROW(net.load_state_dict(net.state_dict()));
}

TEST_CASE("Module: an SGD over tied weights trains as PyTorch's", "[module]") {
  const nlohmann::json tied = mg::testing::load_fixture("engine.json").at("tied");
  Sequential net = make_tied(tied);
  mg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});  // refused a duplicate
  const Tensor x = mg::testing::fixture_tensor<float>(tied.at("x"));
  const Tensor target = mg::testing::fixture_tensor<float>(tied.at("target"));
  for (const nlohmann::json& step : tied.at("steps")) {
    sgd.zero_grad();
    mg::nn::mse_loss(net(x), target).backward();
    sgd.step();
    for (const auto& [name, p] : net.named_parameters()) {
      INFO(name);
      mg::testing::require_close(p, step.at(name), 1e-5);
    }
  }
}

TEST_CASE("Module: a module reached twice lists its tensors once, its state under both names",
          "[module]") {
  const nlohmann::json shared =
      mg::testing::load_fixture("engine.json").at("tied").at("shared_module");
  Twice twice;
  std::vector<std::string> params, buffers, keys;
  for (const auto& [name, p] : twice.named_parameters()) params.push_back(name);
  for (const auto& b : twice.named_buffers()) buffers.push_back(b.name);
  for (const auto& [key, value] : twice.state_dict()) keys.push_back(key);
  CHECK(params == shared.at("parameters").get<std::vector<std::string>>());
  CHECK(buffers == shared.at("buffers").get<std::vector<std::string>>());
  CHECK(keys == shared.at("state_dict_keys").get<std::vector<std::string>>());
  REQUIRE_NOTHROW(twice.load_state_dict(twice.state_dict()));
}

// SGD against PyTorch 1.13 (every momentum / dampening / weight decay / Nesterov combination,
// two parameter groups), skipped parameters, no allocation per step, and pinned errors.
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/allocator.hpp"
#include "core/named_state.hpp"
#include "core/ops.hpp"
#include "core/safetensors.hpp"
#include "fixture_json.hpp"
#include "layers/linear.hpp"
#include "optim/sgd.hpp"

using mg::Shape;
using mg::Tensor;
using mg::optim::ParamGroup;
using mg::optim::SGD;
using mg::optim::SGDOptions;

namespace {

std::vector<Tensor> initial_params(const nlohmann::json& fixture) {
  std::vector<Tensor> out;
  for (const auto& t : fixture.at("initial_params"))
    out.push_back(mg::testing::fixture_tensor<float>(t, /*requires_grad=*/true));
  return out;
}

// Gives each parameter the fixture's gradient for `step` (as p.grad = g in the script).
void set_grads(std::vector<Tensor>& params, const nlohmann::json& fixture, size_t step) {
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].grad_flat() = mg::testing::fixture_tensor<float>(fixture["grads"][step][i]).flat();
  }
}

SGDOptions options_of(const nlohmann::json& o) {
  return {.lr = o.at("lr"),
          .momentum = o.at("momentum"),
          .dampening = o.at("dampening"),
          .weight_decay = o.at("weight_decay"),
          .nesterov = o.at("nesterov")};
}

}  // namespace

TEST_CASE("SGD matches PyTorch step by step, bit for bit", "[sgd]") {
  const nlohmann::json fixture = mg::testing::load_fixture("optim.json");
  REQUIRE(fixture.at("sgd").size() == 11);
  for (const auto& [name, c] : fixture.at("sgd").items()) {
    SECTION(name) {
      std::vector<Tensor> params = initial_params(fixture);
      std::vector<ParamGroup> groups;
      for (const auto& g : c.at("groups")) {
        ParamGroup group;
        for (size_t i : g.at("params").get<std::vector<size_t>>())
          group.params.push_back(params[i]);
        if (!g.at("lr").is_null()) group.lr = g.at("lr").get<double>();
        if (!g.at("weight_decay").is_null())
          group.weight_decay = g.at("weight_decay").get<double>();
        groups.push_back(group);
      }
      SGD sgd(groups, options_of(c.at("options")));
      const nlohmann::json& after = c.at("params_after_step");
      for (size_t step = 0; step < after.size(); ++step) {
        set_grads(params, fixture, step);
        sgd.step();
        for (size_t i = 0; i < params.size(); ++i) {
          INFO("step " << step << ", parameter " << i);
          mg::testing::require_same(params[i], after[step][i]);
        }
      }
      for (size_t i = 0; i < params.size(); ++i) {
        const nlohmann::json& want = c.at("momentum_buffers")[i];
        INFO("momentum buffer " << i);
        if (want.is_null()) {
          CHECK_FALSE(sgd.momentum_buffer(params[i]).defined());
        } else {
          mg::testing::require_same(sgd.momentum_buffer(params[i]), want);
        }
      }
    }
  }
}

TEST_CASE("SGD groups take their own lr and weight decay, the rest from the options", "[sgd]") {
  const Tensor w = Tensor::zeros(Shape{2}, true), b = Tensor::zeros(Shape{2}, true);
  SGD sgd(std::vector<ParamGroup>{{.params = {w}}, {.params = {b}, .lr = 0.5, .weight_decay = 0.0}},
          {.lr = 0.1, .weight_decay = 1e-2});
  REQUIRE(sgd.num_groups() == 2);
  CHECK(sgd.lr(0) == 0.1);
  CHECK(sgd.weight_decay(0) == 1e-2);
  CHECK(sgd.lr(1) == 0.5);
  CHECK(sgd.weight_decay(1) == 0.0);
  sgd.set_lr(1, 0.25);
  CHECK(sgd.lr(1) == 0.25);
  CHECK(sgd.lr(0) == 0.1);
  sgd.set_lr(0.05);
  CHECK(sgd.lr(0) == 0.05);
  CHECK(sgd.lr(1) == 0.05);
  CHECK_THROWS_MATCHES(sgd.lr(2), std::out_of_range,
                       Catch::Message("SGD: expected a group index below 2, got 2"));
  CHECK_THROWS_MATCHES(sgd.set_lr(0, -1.0), std::invalid_argument,
                       Catch::Message("SGD: expected lr >= 0, got -1"));
}

TEST_CASE("SGD skips parameters without a gradient", "[sgd]") {
  Tensor a = Tensor::full(Shape{3}, 1.0f, true), b = Tensor::full(Shape{3}, 1.0f, true);
  SGD sgd({a, b}, {.lr = 0.5, .momentum = 0.9, .weight_decay = 0.1});
  a.grad_flat().setConstant(2.0f);
  sgd.step();
  CHECK((a.flat() == 1.0f - 0.5f * (2.0f + 0.1f)).all());
  CHECK((b.flat() == 1.0f).all());  // weight decay alone does not move it: it is skipped
  CHECK(sgd.momentum_buffer(a).defined());
  CHECK_FALSE(sgd.momentum_buffer(b).defined());
  CHECK_THROWS_MATCHES(
      sgd.momentum_buffer(Tensor::zeros(Shape{3})), std::invalid_argument,
      Catch::Message("SGD: momentum_buffer: expected one of this optimizer's parameters, got "
                     "another tensor"));
}

TEST_CASE("SGD updates a layer's weight in place, without a graph or an allocation", "[sgd]") {
  mg::nn::Linear layer(8, 4);
  const Tensor weight_before = layer.weight.clone();
  SGD sgd(layer.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  const Tensor x = Tensor::full(Shape{16, 8}, 0.5f);
  mg::sum(layer(x)).backward();
  sgd.step();  // the first step creates the momentum buffers
  CHECK(layer.weight.is_leaf());
  CHECK(layer.weight.requires_grad());
  CHECK((layer.weight.flat() != weight_before.flat()).all());

  const mg::AllocatorStats before = mg::allocator_stats();
  for (int i = 0; i < 3; ++i) sgd.step();
  const mg::AllocatorStats after = mg::allocator_stats();
  CHECK(after.os_allocations + after.cache_hits == before.os_allocations + before.cache_hits);
  CHECK(after.bytes_in_use == before.bytes_in_use);

  sgd.zero_grad();
  CHECK((layer.weight.grad().flat() == 0.0f).all());
  CHECK((layer.bias.grad().flat() == 0.0f).all());
}

TEST_CASE("SGD refuses invalid options and parameter lists", "[sgd]") {
  const Tensor p = Tensor::zeros(Shape{2}, true), q = Tensor::zeros(Shape{2}, true);
  using Catch::Message;
  CHECK_THROWS_MATCHES(SGD({p}, {.lr = -0.1}), std::invalid_argument,
                       Message("SGD: expected lr >= 0, got -0.1"));
  CHECK_THROWS_MATCHES(SGD({p}, {.momentum = -0.5}), std::invalid_argument,
                       Message("SGD: expected momentum >= 0, got -0.5"));
  CHECK_THROWS_MATCHES(SGD({p}, {.weight_decay = -0.01}), std::invalid_argument,
                       Message("SGD: expected weight_decay >= 0, got -0.01"));
  CHECK_THROWS_MATCHES(
      SGD({p}, {.nesterov = true}), std::invalid_argument,
      Message("SGD: nesterov needs momentum > 0 and dampening = 0, got momentum 0 and "
              "dampening 0"));
  CHECK_THROWS_MATCHES(
      SGD({p}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}), std::invalid_argument,
      Message("SGD: nesterov needs momentum > 0 and dampening = 0, got momentum 0.9 and "
              "dampening 0.1"));
  CHECK_THROWS_MATCHES(SGD(std::vector<Tensor>{}), std::invalid_argument,
                       Message("SGD: expected at least one parameter, got an empty list"));
  CHECK_THROWS_MATCHES(SGD(std::vector<ParamGroup>{}, {}), std::invalid_argument,
                       Message("SGD: expected at least one parameter group, got none"));
  CHECK_THROWS_MATCHES(
      SGD(std::vector<ParamGroup>{{.params = {p}}, {.params = {}}}, {}), std::invalid_argument,
      Message("SGD: expected at least one parameter in group 1, got an empty list"));
  CHECK_THROWS_MATCHES(
      SGD(std::vector<ParamGroup>{{.params = {p}}, {.params = {q}, .lr = -1.0}}, {}),
      std::invalid_argument, Message("SGD: expected lr >= 0 in group 1, got -1"));
  CHECK_THROWS_MATCHES(SGD(std::vector<ParamGroup>{{.params = {p}, .weight_decay = -2.0}}, {}),
                       std::invalid_argument,
                       Message("SGD: expected weight_decay >= 0 in group 0, got -2"));
  CHECK_THROWS_MATCHES(
      SGD(std::vector<ParamGroup>{{.params = {p, q}}, {.params = {q}}}, {}), std::invalid_argument,
      Message("SGD: parameter 0 of group 1 is also parameter 1 of group 0; a parameter may appear "
              "only once"));
  CHECK_THROWS_MATCHES(
      SGD({p, q, p}), std::invalid_argument,
      Message("SGD: parameter 2 of group 0 is also parameter 0 of group 0; a parameter may appear "
              "only once"));
  CHECK_THROWS_MATCHES(
      SGD({p, Tensor()}), std::invalid_argument,
      Message("SGD: expected a defined tensor as parameter 1 of group 0, got an undefined one"));
  CHECK_THROWS_MATCHES(
      SGD({p * 2.0}), std::invalid_argument,
      Message(
          "SGD: expected a leaf tensor as parameter 0 of group 0, got the output of 'mul_scalar'"));
}

namespace {

// A state's trip through a safetensors file's bytes, as a training-state file takes it.
mg::NamedState through_file(const mg::NamedState& state) {
  const std::vector<std::byte> bytes = mg::safetensors::serialize(mg::to_safetensors(state));
  return mg::from_safetensors(mg::safetensors::parse(bytes));
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.numel())) == 0;
}

// Two groups (the second with its own lr and no decay); `lrs` changes the lr before each step,
// as a schedule would.
SGD make_two_group_sgd(std::vector<Tensor>& params, const SGDOptions& options) {
  return SGD(std::vector<ParamGroup>{{.params = {params[0]}},
                                     {.params = {params[1]}, .lr = 0.05, .weight_decay = 0.0}},
             options);
}

}  // namespace

TEST_CASE("SGD state_dict round-trips: a resumed run takes the same steps bit for bit", "[sgd]") {
  const nlohmann::json fixture = mg::testing::load_fixture("optim.json");
  const std::vector<SGDOptions> settings = {
      {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2},
      {.lr = 0.1, .momentum = 0.9, .dampening = 0.5},
      {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true},
      {.lr = 0.1}};
  for (const SGDOptions& options : settings) {
    INFO("momentum " << options.momentum << " dampening " << options.dampening << " nesterov "
                     << options.nesterov);
    // Straight: four steps, the lr of every group halved after the second.
    std::vector<Tensor> straight = initial_params(fixture);
    SGD straight_sgd = make_two_group_sgd(straight, options);
    for (size_t step = 0; step < 4; ++step) {
      if (step == 2) straight_sgd.set_lr(0.025);
      set_grads(straight, fixture, step);
      straight_sgd.step();
    }
    // Interrupted after two steps: the parameters and the state go through a file's bytes into
    // a fresh optimizer built with other settings, which takes the last two steps.
    std::vector<Tensor> first = initial_params(fixture);
    SGD first_sgd = make_two_group_sgd(first, options);
    for (size_t step = 0; step < 2; ++step) {
      set_grads(first, fixture, step);
      first_sgd.step();
    }
    first_sgd.set_lr(0.025);
    const mg::NamedState saved = through_file(first_sgd.state_dict());
    std::vector<Tensor> resumed = {first[0].clone().set_requires_grad(true),
                                   first[1].clone().set_requires_grad(true)};
    SGD resumed_sgd = make_two_group_sgd(resumed, {.lr = 3.0, .momentum = 0.1});
    resumed_sgd.load_state_dict(saved);
    CHECK(resumed_sgd.lr(1) == 0.025);
    CHECK(resumed_sgd.weight_decay(1) == 0.0);
    CHECK(resumed_sgd.options().momentum == options.momentum);
    for (size_t step = 2; step < 4; ++step) {
      set_grads(resumed, fixture, step);
      resumed_sgd.step();
    }
    for (size_t i = 0; i < 2; ++i) {
      CHECK(same_bits(resumed[i], straight[i]));
      const Tensor a = resumed_sgd.momentum_buffer(resumed[i]);
      const Tensor b = straight_sgd.momentum_buffer(straight[i]);
      REQUIRE(a.defined() == b.defined());
      if (a.defined()) CHECK(same_bits(a, b));
    }
  }
}

TEST_CASE("SGD state_dict uses PyTorch's names and is a copy", "[sgd]") {
  Tensor w = Tensor::full(Shape{2, 3}, 1.0f, true), b = Tensor::full(Shape{3}, 1.0f, true);
  Tensor c = Tensor::full(Shape{1}, 1.0f, true);
  SGD sgd(std::vector<ParamGroup>{{.params = {w, b}}, {.params = {c}, .lr = 0.5}},
          {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  w.grad_flat().setConstant(1.0f);
  c.grad_flat().setConstant(1.0f);
  sgd.step();  // b has no gradient: no buffer
  const mg::NamedState state = sgd.state_dict();
  std::vector<std::string> tensors;
  for (const auto& [name, t] : state.tensors) tensors.push_back(name);
  CHECK(tensors == std::vector<std::string>{"state.0.momentum_buffer", "state.2.momentum_buffer"});
  CHECK(state.reals.at("param_groups.1.lr") == 0.5);
  CHECK(state.reals.at("param_groups.0.momentum") == 0.9);
  CHECK(state.reals.at("param_groups.1.dampening") == 0.0);
  CHECK(state.reals.at("param_groups.0.weight_decay") == 0.0);
  CHECK(state.integers.at("param_groups.1.nesterov") == 1);
  CHECK(state.integers.at("param_groups.0.params.1") == 1);
  CHECK(state.integers.at("param_groups.1.params.0") == 2);
  CHECK(state.reals.size() + state.integers.size() == 2 * 5 + 3);
  sgd.step();  // the saved buffer does not move with the optimizer's
  CHECK((state.tensors.at("state.0.momentum_buffer").flat() == 1.0f).all());
}

TEST_CASE("SGD load_state_dict refuses a state that does not fit, and changes nothing", "[sgd]") {
  Tensor w = Tensor::full(Shape{2, 3}, 1.0f, true), b = Tensor::full(Shape{3}, 1.0f, true);
  SGD source({w, b}, {.lr = 0.1, .momentum = 0.9});
  w.grad_flat().setConstant(1.0f);
  b.grad_flat().setConstant(1.0f);
  source.step();
  const mg::NamedState good = source.state_dict();

  Tensor w2 = Tensor::zeros(Shape{2, 3}, true), b2 = Tensor::zeros(Shape{3}, true);
  SGD target({w2, b2}, {.lr = 0.3});
  auto refuses = [&](const mg::NamedState& state, const std::string& message) {
    CHECK_THROWS_MATCHES(target.load_state_dict(state), std::invalid_argument,
                         Catch::Message(message));
    CHECK(target.lr() == 0.3);
    CHECK(target.options().momentum == 0.0);
    CHECK_FALSE(target.momentum_buffer(w2).defined());
  };
  SGD one_param({Tensor::zeros(Shape{2, 3}, true)}, {.lr = 0.1});
  refuses(one_param.state_dict(), "SGD: load_state_dict: expected 2 parameters in group 0, got 1");
  SGD two_groups(std::vector<ParamGroup>{{.params = {Tensor::zeros(Shape{1}, true)}},
                                         {.params = {Tensor::zeros(Shape{1}, true)}}},
                 {});
  refuses(two_groups.state_dict(), "SGD: load_state_dict: expected 1 parameter groups, got 2");
  mg::NamedState state = good;
  state.tensors["state.1.momentum_buffer"] = Tensor::zeros(Shape{4});
  refuses(state, "SGD: load_state_dict: expected state.1.momentum_buffer of shape (3), got (4)");
  state = good;
  state.reals.erase("param_groups.0.dampening");
  refuses(state, "SGD: load_state_dict: expected a real 'param_groups.0.dampening', missing");
  state = good;
  state.reals["param_groups.0.betas"] = 0.9;
  state.tensors["state.0.exp_avg"] = Tensor::zeros(Shape{2, 3});
  refuses(state,
          "SGD: load_state_dict: missing keys [], unexpected keys [state.0.exp_avg, "
          "param_groups.0.betas]");
  state = good;
  state.reals["param_groups.0.lr"] = -1;
  refuses(state, "SGD: load_state_dict: expected param_groups.0.lr >= 0, got -1");
  state = good;
  state.integers["param_groups.0.nesterov"] = 1;
  state.reals["param_groups.0.dampening"] = 0.5;
  refuses(state,
          "SGD: nesterov needs momentum > 0 and dampening = 0, got momentum 0.9 and dampening "
          "0.5");

  target.load_state_dict(good);
  CHECK(target.lr() == 0.1);
  CHECK(target.options().momentum == 0.9);
  CHECK(same_bits(target.momentum_buffer(w2), source.momentum_buffer(w)));
}

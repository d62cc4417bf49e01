// Adam and AdamW against PyTorch 1.13 step by step (weight decay coupled and decoupled,
// amsgrad, a large eps, two groups), decay_groups, the state_dict round trip with continued
// training bit for bit, skipped parameters, and pinned errors.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/named_state.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"
#include "core/safetensors.hpp"
#include "fixture_json.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"

using mg::Shape;
using mg::Tensor;
using mg::optim::Adam;
using mg::optim::AdamOptions;
using mg::optim::AdamW;
using mg::optim::AdamWOptions;
using mg::optim::ParamGroup;
using mg::optim::SGD;

namespace {

std::vector<Tensor> initial_params(const nlohmann::json& fixture) {
  std::vector<Tensor> out;
  for (const auto& t : fixture.at("initial_params"))
    out.push_back(mg::testing::fixture_tensor<float>(t, /*requires_grad=*/true));
  return out;
}

void set_grads(std::vector<Tensor>& params, const nlohmann::json& fixture, size_t step) {
  for (size_t i = 0; i < params.size(); ++i)
    params[i].grad_flat() = mg::testing::fixture_tensor<float>(fixture["grads"][step][i]).flat();
}

std::vector<ParamGroup> groups_of(const nlohmann::json& c, const std::vector<Tensor>& params) {
  std::vector<ParamGroup> groups;
  for (const auto& g : c.at("groups")) {
    ParamGroup group;
    for (size_t i : g.at("params").get<std::vector<size_t>>()) group.params.push_back(params[i]);
    if (!g.at("lr").is_null()) group.lr = g.at("lr").get<double>();
    if (!g.at("weight_decay").is_null()) group.weight_decay = g.at("weight_decay").get<double>();
    groups.push_back(group);
  }
  return groups;
}

std::unique_ptr<Adam> make(const nlohmann::json& c, const std::vector<Tensor>& params) {
  const nlohmann::json& o = c.at("options");
  const std::array<double, 2> betas = {o.at("betas")[0], o.at("betas")[1]};
  if (c.at("optimizer") == "AdamW") {
    return std::make_unique<AdamW>(groups_of(c, params),
                                   AdamWOptions{.lr = o.at("lr"),
                                                .betas = betas,
                                                .eps = o.at("eps"),
                                                .weight_decay = o.at("weight_decay"),
                                                .amsgrad = o.at("amsgrad")});
  }
  return std::make_unique<Adam>(groups_of(c, params),
                                AdamOptions{.lr = o.at("lr"),
                                            .betas = betas,
                                            .eps = o.at("eps"),
                                            .weight_decay = o.at("weight_decay"),
                                            .amsgrad = o.at("amsgrad")});
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.numel())) == 0;
}

}  // namespace

TEST_CASE("Adam and AdamW match PyTorch step by step, bit for bit", "[adam]") {
  const nlohmann::json fixture = mg::testing::load_fixture("optim.json");
  REQUIRE(fixture.at("adam").size() == 8);
  for (const auto& [name, c] : fixture.at("adam").items()) {
    SECTION(name) {
      std::vector<Tensor> params = initial_params(fixture);
      std::unique_ptr<Adam> adam = make(c, params);
      const nlohmann::json& after = c.at("params_after_step");
      for (size_t step = 0; step < after.size(); ++step) {
        set_grads(params, fixture, step);
        adam->step();
        for (size_t i = 0; i < params.size(); ++i) {
          INFO("step " << step << ", parameter " << i);
          mg::testing::require_same(params[i], after[step][i]);
        }
      }
      const mg::NamedState state = adam->state_dict();
      for (size_t i = 0; i < params.size(); ++i) {
        INFO("state of parameter " << i);
        const nlohmann::json& want = c.at("state")[i];
        const std::string key = "state." + std::to_string(i) + ".";
        CHECK(adam->step_count(params[i]) == want.at("step").get<int64_t>());
        CHECK(state.integers.at(key + "step") == want.at("step").get<int64_t>());
        mg::testing::require_same(state.tensors.at(key + "exp_avg"), want.at("exp_avg"));
        mg::testing::require_same(state.tensors.at(key + "exp_avg_sq"), want.at("exp_avg_sq"));
        if (want.at("max_exp_avg_sq").is_null()) {
          CHECK_FALSE(state.contains(key + "max_exp_avg_sq"));
        } else {
          mg::testing::require_same(state.tensors.at(key + "max_exp_avg_sq"),
                                    want.at("max_exp_avg_sq"));
        }
      }
    }
  }
}

TEST_CASE("Adam's state_dict round-trips: a resumed run takes the same steps bit for bit",
          "[adam]") {
  const nlohmann::json fixture = mg::testing::load_fixture("optim.json");
  for (const char* name :
       {"Adam weight_decay=0.01", "AdamW amsgrad betas=(0.8, 0.99) eps=1e-3", "AdamW two groups"}) {
    INFO(name);
    const nlohmann::json& c = fixture.at("adam").at(name);
    std::vector<Tensor> straight = initial_params(fixture);
    std::unique_ptr<Adam> straight_adam = make(c, straight);
    for (size_t step = 0; step < 4; ++step) {
      if (step == 2) straight_adam->set_lr(0.003);
      set_grads(straight, fixture, step);
      straight_adam->step();
    }
    std::vector<Tensor> first = initial_params(fixture);
    std::unique_ptr<Adam> first_adam = make(c, first);
    for (size_t step = 0; step < 2; ++step) {
      set_grads(first, fixture, step);
      first_adam->step();
    }
    first_adam->set_lr(0.003);
    const mg::NamedState saved = mg::from_safetensors(mg::safetensors::parse(
        mg::safetensors::serialize(mg::to_safetensors(first_adam->state_dict()))));
    std::vector<Tensor> resumed = {first[0].clone().set_requires_grad(true),
                                   first[1].clone().set_requires_grad(true)};
    std::unique_ptr<Adam> resumed_adam = make(c, resumed);
    resumed_adam->load_state_dict(saved);
    for (size_t step = 2; step < 4; ++step) {
      set_grads(resumed, fixture, step);
      resumed_adam->step();
    }
    const mg::NamedState a = resumed_adam->state_dict(), b = straight_adam->state_dict();
    CHECK(a.reals == b.reals);
    CHECK(a.integers == b.integers);
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (const auto& [key, t] : a.tensors) CHECK(same_bits(t, b.tensors.at(key)));
    for (size_t i = 0; i < 2; ++i) CHECK(same_bits(resumed[i], straight[i]));
  }
}

TEST_CASE("decay_groups: matrices decay, biases and normalisation weights do not", "[adam]") {
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(3, 4));
  net.push_back(mg::nn::BatchNorm1d(4));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(4, 2));
  const std::vector<ParamGroup> groups = mg::optim::decay_groups(net.named_parameters(), 0.05);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].weight_decay == 0.05);
  CHECK(groups[1].weight_decay == 0.0);
  REQUIRE(groups[0].params.size() == 2);
  CHECK(groups[0].params[0].same_as(net.named_parameters()[0].second));  // 0.weight
  CHECK(groups[0].params[1].same_as(net.named_parameters()[4].second));  // 3.weight
  CHECK(groups[1].params.size() == 4);  // 0.bias, 1.weight, 1.bias, 3.bias
  AdamW adamw(groups, {.lr = 1e-2});
  CHECK(adamw.weight_decay(0) == 0.05);
  CHECK(adamw.weight_decay(1) == 0.0);
  // Only vectors: one group, no empty one.
  mg::nn::BatchNorm1d bn(3);
  CHECK(mg::optim::decay_groups(bn.named_parameters(), 0.1).size() == 1);
}

TEST_CASE("Adam skips parameters without a gradient, AdamW decays in place", "[adam]") {
  Tensor a = Tensor::full(Shape{3}, 1.0f, true), b = Tensor::full(Shape{3}, 1.0f, true);
  AdamW adamw({a, b}, {.lr = 0.1, .weight_decay = 0.5});
  a.grad_flat().setConstant(0.0f);
  adamw.step();
  // A zero gradient: only the decay moves a, by the factor 1 - lr wd; b is skipped entirely.
  CHECK((a.flat() == static_cast<float>(1 - 0.1 * 0.5)).all());
  CHECK((b.flat() == 1.0f).all());
  CHECK(adamw.step_count(a) == 1);
  CHECK(adamw.step_count(b) == 0);
  CHECK_FALSE(adamw.state_dict().contains("state.1.step"));
  CHECK(a.is_leaf());
}

TEST_CASE("amsgrad keeps a NaN second moment in max_exp_avg_sq, as torch.maximum", "[adam]") {
  // torch.maximum(max_exp_avg_sq, exp_avg_sq) is NaN where either is: a NaN gradient must not
  // leave a finite, stale maximum behind in the optimizer's state.
  Tensor p = Tensor::full(Shape{2}, 1.0f, true);
  Adam adam({p}, {.lr = 0.1, .amsgrad = true});
  p.grad_flat() << 0.5f, 0.25f;
  adam.step();
  p.grad_flat() << std::numeric_limits<float>::quiet_NaN(), 0.25f;
  adam.step();
  const Tensor v_max = adam.state_dict().tensors.at("state.0.max_exp_avg_sq");
  CHECK(std::isnan(v_max.at(0)));
  CHECK(std::isfinite(v_max.at(1)));
}

TEST_CASE("Adam refuses invalid options and states that do not fit", "[adam]") {
  const Tensor p = Tensor::zeros(Shape{2}, true);
  using Catch::Message;
  CHECK_THROWS_MATCHES(Adam({p}, {.lr = -1.0}), std::invalid_argument,
                       Message("Adam: expected lr >= 0, got -1"));
  CHECK_THROWS_MATCHES(Adam({p}, {.betas = {0.9, 1.0}}), std::invalid_argument,
                       Message("Adam: expected betas[1] in [0, 1), got 1"));
  CHECK_THROWS_MATCHES(AdamW({p}, {.betas = {-0.1, 0.9}}), std::invalid_argument,
                       Message("AdamW: expected betas[0] in [0, 1), got -0.1"));
  CHECK_THROWS_MATCHES(AdamW({p}, {.eps = -1e-8}), std::invalid_argument,
                       Message("AdamW: expected eps >= 0, got -1e-08"));
  CHECK_THROWS_MATCHES(AdamW({p}, {.weight_decay = -1.0}), std::invalid_argument,
                       Message("AdamW: expected weight_decay >= 0, got -1"));
  CHECK_THROWS_MATCHES(AdamW(std::vector<Tensor>{}), std::invalid_argument,
                       Message("AdamW: expected at least one parameter, got an empty list"));
  CHECK_THROWS_MATCHES(Adam({p, p}), std::invalid_argument,
                       Message("Adam: parameter 1 of group 0 is also parameter 0 of group 0; a "
                               "parameter may appear only once"));

  Tensor w = Tensor::full(Shape{2}, 1.0f, true);
  Adam source({w}, {.lr = 0.1});
  w.grad_flat().setConstant(1.0f);
  source.step();
  Tensor w2 = Tensor::zeros(Shape{2}, true);
  Adam target({w2}, {.lr = 0.5});
  mg::NamedState state = source.state_dict();
  state.tensors["state.0.exp_avg"] = Tensor::zeros(Shape{3});
  CHECK_THROWS_MATCHES(target.load_state_dict(state), std::invalid_argument,
                       Message("Adam: load_state_dict: expected state.0.exp_avg of shape (2), "
                               "got (3)"));
  state = source.state_dict();
  state.reals["param_groups.0.betas.1"] = 1.5;
  CHECK_THROWS_MATCHES(target.load_state_dict(state), std::invalid_argument,
                       Message("Adam: expected betas[1] in [0, 1), got 1.5"));
  mg::optim::SGD sgd({Tensor::zeros(Shape{2}, true)});
  CHECK_THROWS_MATCHES(target.load_state_dict(sgd.state_dict()), std::invalid_argument,
                       Message("Adam: load_state_dict: expected a real 'param_groups.0.betas.0', "
                               "missing"));
  CHECK(target.lr() == 0.5);
  CHECK(target.step_count(w2) == 0);
  target.load_state_dict(source.state_dict());
  CHECK(target.lr() == 0.1);
  CHECK(target.step_count(w2) == 1);
}

namespace {

// Three steps of the optimizer `make` builds, from the same parameter and gradients, on `threads`
// threads; the parameter afterwards. The parameter is large enough to be split over the threads.
template <typename Make>
std::vector<float> three_steps(int threads, Make make) {
  omp_set_num_threads(threads);
  REQUIRE(omp_get_max_threads() == threads);
  mg::Generator gen(5);
  const int64_t n = 3 * (int64_t{1} << 17) + 5;  // 393221: split unevenly
  REQUIRE(n >= mg::kParallelElements);
  Tensor p = Tensor::randn(Shape{n}, gen, /*requires_grad=*/true);
  auto optimizer = make(std::vector<Tensor>{p});
  for (int step = 0; step < 3; ++step) {
    p.grad_flat() = Tensor::randn(Shape{n}, gen).flat();
    optimizer.step();
  }
  omp_set_num_threads(1);
  return p.to_vector();
}

}  // namespace

TEST_CASE("optimizers: a parameter split over 2 threads takes the same steps bit for bit as on 1",
          "[adam][sgd]") {
  auto sgd = [](std::vector<Tensor> p) {
    return SGD(std::move(p), {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true});
  };
  auto plain_sgd = [](std::vector<Tensor> p) { return SGD(std::move(p), {.lr = 0.1}); };
  auto adam = [](std::vector<Tensor> p) {
    return Adam(std::move(p), {.lr = 0.01, .weight_decay = 1e-2, .amsgrad = true});
  };
  auto adamw = [](std::vector<Tensor> p) { return AdamW(std::move(p), {.lr = 0.01}); };
  const std::vector<float> start = three_steps(1, [](std::vector<Tensor> p) {
    return SGD(std::move(p), {.lr = 0});  // no step at all: the starting values
  });
  for (const auto& [one, two] : {std::pair{three_steps(1, sgd), three_steps(2, sgd)},
                                 std::pair{three_steps(1, plain_sgd), three_steps(2, plain_sgd)},
                                 std::pair{three_steps(1, adam), three_steps(2, adam)},
                                 std::pair{three_steps(1, adamw), three_steps(2, adamw)}}) {
    const bool moved = one != start, same = one == two;  // bools: Catch would print every value
    CHECK(moved);
    CHECK(same);
  }
}

TEST_CASE("zero_grad clears every value of a gradient split over 2 threads", "[adam][sgd]") {
  mg::Generator gen(6);
  const int64_t n = 3 * (int64_t{1} << 17) + 5;
  Tensor p = Tensor::randn(Shape{n}, gen, /*requires_grad=*/true);
  p.grad_flat() = Tensor::randn(Shape{n}, gen).flat();
  omp_set_num_threads(2);
  p.zero_grad();
  omp_set_num_threads(1);
  const std::vector<float> g = p.grad().to_vector();
  CHECK(std::count(g.begin(), g.end(), 0.0f) == n);
}

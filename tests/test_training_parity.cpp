// Whole training runs against PyTorch 1.13 (tests/fixtures/training_parity.json, written by
// scripts/fixtures_training.py): train_mlp's network and optimizer, built as train_mlp builds
// them (examples::make_mlp, examples::make_optimizer), from the same initial weights, data and
// batch order, 20 steps of Linear-BN-act-Linear-BN-act-Linear with cross-entropy:
//   SGD (lr 0.1, momentum 0.9, weight decay 1e-3 on the Linear weights only) with ReLU, Nesterov
//   off and on, with Tanh and with GELU; AdamW (lr 0.01, weight decay 1e-2 on the Linear weights)
//   with ReLU, and without BatchNorm with GELU and Dropout(0.3), whose masks PyTorch replays from
//   minigrad's generator (its own cannot be matched).
// The loss must match at every step, and parameters, the optimizer's state and running
// statistics at the end, within 1e-4 relative. With Dropout the state_dict keys must be those of
// PyTorch's nn.Sequential, and in eval mode (Dropout the identity) the logits PyTorch's.
// With AdamW and BatchNorm, the biases of the Linear layers in front of a BatchNorm and the
// running means are left out: their true gradient is zero, and Adam scales the float32 rounding
// noise in it up to steps of size lr (scripts/fixtures_training.py says more).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/mlp.hpp"
#include "train_mlp/checkpoint.hpp"

namespace {

using nlohmann::json;

// |a - b| / max(|a|, |b|, 1e-3): relative, with a floor for values near zero.
double rel_error(double a, double b) {
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-3});
}

// The worst element's error relative to the tensor's scale (its largest magnitude): a tensor is
// compared as a whole, so an element that is nearly zero only because of cancellation is not
// held to float32 precision relative to itself.
double worst_error(const std::vector<float>& got, const json& want, double floor = 1e-3) {
  REQUIRE(got.size() == want.size());
  double scale = floor;
  for (double w : want) scale = std::max(scale, std::abs(w));
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - want[i].get<double>()) / scale);
  }
  return worst;
}

void load_initial(mg::nn::Sequential& net, const json& initial) {
  mg::nn::StateDict<float> state;
  for (const auto& [name, value] : initial.items()) {
    std::vector<int64_t> dims = value["shape"];
    std::vector<float> data(value["data"].begin(), value["data"].end());
    if (dims.empty()) {
      state.emplace_back(name, static_cast<int64_t>(data[0]));
    } else {
      state.emplace_back(
          name, mg::Tensor::from_vector(data, mg::Shape::checked("fixture", dims.data(),
                                                                 static_cast<int>(dims.size()))));
    }
  }
  net.load_state_dict(state);
}

// The rows `idx` of the fixture's points (N, 2) and their labels.
mg::Tensor rows(const std::vector<float>& x_all, const std::vector<int64_t>& idx) {
  std::vector<float> xb;
  for (int64_t i : idx) {
    xb.push_back(x_all[2 * i]);
    xb.push_back(x_all[2 * i + 1]);
  }
  return mg::Tensor::from_vector(xb, {static_cast<int64_t>(idx.size()), 2});
}

}  // namespace

TEST_CASE("train_mlp's MLP and optimizers match PyTorch for 20 steps, every choice", "[parity]") {
  std::ifstream file(std::string(MINIGRAD_FIXTURES_DIR) + "/training_parity.json");
  REQUIRE(file.good());
  const json fixture = json::parse(file);
  const std::vector<float> x_all(fixture["x"].begin(), fixture["x"].end());
  const std::vector<int64_t> y_all = fixture["y"];
  std::vector<int64_t> everyone(y_all.size());
  for (size_t i = 0; i < everyone.size(); ++i) everyone[i] = static_cast<int64_t>(i);

  REQUIRE(fixture["runs"].size() == 6);
  for (const json& run : fixture["runs"]) {
    const double dropout = run.value("dropout", 0.0);
    const std::string optimizer = run["optimizer"];
    INFO(optimizer << ", " << run["activation"].get<std::string>() << ", nesterov "
                   << run.value("nesterov", false) << ", dropout " << dropout);
    mg::Generator weights(0), masks(run.value("dropout_seed", uint64_t{0}));
    mg::nn::Sequential net = examples::make_mlp(
        {.inputs = 2,
         .hidden = {8, 8},
         .classes = 3,
         .norm = run.value("batchnorm", true) ? examples::Norm::batch : examples::Norm::none,
         .activation = examples::activation_from_flag(run["activation"]),
         .dropout = dropout},
        weights, masks);
    load_initial(net, run.contains("initial") ? run["initial"] : fixture["initial"]);
    // Linear weights decay; biases and BatchNorm's gamma/beta do not.
    const std::unique_ptr<mg::optim::Optimizer> opt =
        examples::make_optimizer({.name = optimizer,
                                  .lr = run["lr"],
                                  .weight_decay = run["weight_decay"],
                                  .momentum = 0.9,
                                  .nesterov = run.value("nesterov", false)},
                                 net);

    double worst_loss = 0;
    for (size_t step = 0; step < fixture["order"].size(); ++step) {
      const std::vector<int64_t> idx = fixture["order"][step];
      std::vector<int64_t> yb;
      for (int64_t i : idx) yb.push_back(y_all[i]);
      opt->zero_grad();
      mg::Tensor loss = mg::nn::cross_entropy(net(rows(x_all, idx)), yb);
      loss.backward();
      opt->step();
      const double want = run["losses"][step];
      worst_loss = std::max(worst_loss, rel_error(loss.item(), want));
      INFO("step " << step << ": loss " << loss.item() << ", PyTorch " << want);
      CHECK(rel_error(loss.item(), want) < 1e-4);
    }

    // The optimizer's per-parameter state by parameter name: "state.{name}.{what}".
    const std::vector<std::string> names = train_mlp::parameter_names(*opt, net);
    const mg::NamedState state = opt->state_dict();
    // The biases of the Linear layers in front of a BatchNorm have a true gradient of zero (the
    // normalisation subtracts any per-channel shift), so their momentum buffers and moments hold
    // only float32 rounding noise, ~1e-9. Each kind of state is compared against the scale of
    // that kind over the whole run.
    std::map<std::string, double> floors;
    for (const auto& [name, kinds] : run["optimizer_state"].items())
      for (const auto& [kind, values] : kinds.items())
        for (double v : values) floors[kind] = std::max(floors[kind], std::abs(v));
    // AdamW's noise-driven entries: "{i}.bias" of a Linear i in front of a BatchNorm, and
    // "{i + 1}.running_mean", which follows that bias.
    std::set<std::string> noise_driven;
    for (size_t i = 0; optimizer == "adamw" && i + 1 < net.size(); ++i) {
      if (dynamic_cast<mg::nn::Linear*>(&net[i]) && dynamic_cast<mg::nn::BatchNorm1d*>(&net[i + 1]))
        noise_driven.insert({std::to_string(i) + ".bias", std::to_string(i + 1) + ".running_mean"});
    }
    double worst_param = 0, worst_state = 0, worst_stat = 0;
    for (const auto& [name, param] : net.named_parameters()) {
      if (noise_driven.contains(name)) continue;
      INFO("parameter " << name);
      worst_param = std::max(worst_param, worst_error(param.to_vector(), run["params"][name]));
    }
    for (size_t n = 0; n < names.size(); ++n) {
      INFO("parameter " << names[n]);
      for (const auto& [kind, values] : run["optimizer_state"][names[n]].items()) {
        INFO("optimizer state " << kind);
        const std::string key = "state." + std::to_string(n) + "." + kind;
        if (kind == "step") {
          REQUIRE(state.integers.contains(key));
          CHECK(state.integers.at(key) == static_cast<int64_t>(values[0].get<double>()));
          continue;
        }
        REQUIRE(state.tensors.contains(key));
        worst_state = std::max(
            worst_state, worst_error(state.tensors.at(key).to_vector(), values, floors[kind]));
      }
    }
    for (const auto& [name, value] : net.state_dict()) {
      if (!run["buffers"].contains(name) || noise_driven.contains(name)) continue;
      INFO("buffer " << name);
      if (const auto* t = std::get_if<mg::Tensor>(&value)) {
        worst_stat = std::max(worst_stat, worst_error(t->to_vector(), run["buffers"][name]));
      } else {
        CHECK(std::get<int64_t>(value) == static_cast<int64_t>(run["buffers"][name][0]));
      }
    }
    INFO("worst relative error: loss " << worst_loss << ", params " << worst_param
                                       << ", optimizer state " << worst_state << ", running stats "
                                       << worst_stat);
    CHECK(worst_param < 1e-4);
    CHECK(worst_state < 1e-4);
    CHECK(worst_stat < 1e-4);

    if (dropout > 0) {
      // PyTorch's nn.Sequential with nn.Dropout has these keys, in this order.
      std::vector<std::string> keys;
      for (const auto& [name, value] : net.state_dict()) keys.push_back(name);
      CHECK(keys == run["state_dict_keys"].get<std::vector<std::string>>());
      // In eval mode Dropout is the identity: PyTorch's logits for every point, and nothing drawn.
      const mg::Generator::State before = masks.state();
      net.eval();
      const mg::Tensor logits = net(rows(x_all, everyone));  // (N, 3)
      CHECK(worst_error(logits.to_vector(), run["eval_logits"]) < 1e-5);
      CHECK(masks.state() == before);
    }
  }
}

TEST_CASE("train_mlp's MLP with BatchNorm and Dropout has PyTorch's state_dict keys", "[parity]") {
  std::ifstream file(std::string(MINIGRAD_FIXTURES_DIR) + "/training_parity.json");
  REQUIRE(file.good());
  const json fixture = json::parse(file);
  mg::Generator weights(0), masks(0);
  mg::nn::Sequential net = examples::make_mlp(
      {.hidden = {8, 8}, .activation = examples::Activation::gelu, .dropout = 0.1}, weights, masks);
  std::vector<std::string> keys;
  for (const auto& [name, value] : net.state_dict()) keys.push_back(name);
  CHECK(keys == fixture["keys_batchnorm_dropout"].get<std::vector<std::string>>());
}

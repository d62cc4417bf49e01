// A whole training run against PyTorch 1.13 (tests/fixtures/training_parity.json, written by
// scripts/fixtures_training.py): the same initial weights, data and batch order, 20 SGD steps
// (lr 0.1, momentum 0.9, weight decay 1e-3 on the Linear weights only, Nesterov off and on) of
// Linear-BN-ReLU-Linear-BN-ReLU-Linear with cross-entropy. The loss must match at every step,
// and parameters, momentum buffers and running statistics at the end, within 1e-4 relative.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "layers/batchnorm1d.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

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

mg::nn::Sequential make_net() {
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(2, 8));
  net.push_back(mg::nn::BatchNorm1d(8));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(8, 8));
  net.push_back(mg::nn::BatchNorm1d(8));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(8, 3));
  return net;
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

}  // namespace

TEST_CASE("20 SGD steps of an MLP with BatchNorm match PyTorch step by step", "[parity]") {
  std::ifstream file(std::string(MINIGRAD_FIXTURES_DIR) + "/training_parity.json");
  REQUIRE(file.good());
  const json fixture = json::parse(file);
  const std::vector<float> x_all(fixture["x"].begin(), fixture["x"].end());
  const std::vector<int64_t> y_all = fixture["y"];

  for (const json& run : fixture["runs"]) {
    const bool nesterov = run["nesterov"];
    INFO("nesterov = " << nesterov);
    mg::nn::Sequential net = make_net();
    load_initial(net, fixture["initial"]);

    // Linear weights decay; biases and BatchNorm's gamma/beta do not.
    mg::optim::ParamGroup decay{.weight_decay = 1e-3}, no_decay{.weight_decay = 0.0};
    for (auto& [name, p] : net.named_parameters()) {
      const bool is_linear_weight = name.ends_with("weight") && p.rank() == 2;
      (is_linear_weight ? decay : no_decay).params.push_back(p);
    }
    mg::optim::SGD opt({decay, no_decay}, {.lr = 0.1, .momentum = 0.9, .nesterov = nesterov});

    double worst_loss = 0;
    for (size_t step = 0; step < fixture["order"].size(); ++step) {
      const std::vector<int64_t> idx = fixture["order"][step];
      std::vector<float> xb;
      std::vector<int64_t> yb;
      for (int64_t i : idx) {
        xb.push_back(x_all[2 * i]);
        xb.push_back(x_all[2 * i + 1]);
        yb.push_back(y_all[i]);
      }
      const int64_t n = static_cast<int64_t>(idx.size());
      opt.zero_grad();
      mg::Tensor loss = mg::nn::cross_entropy(net(mg::Tensor::from_vector(xb, {n, 2})), yb);
      loss.backward();
      opt.step();
      const double want = run["losses"][step];
      worst_loss = std::max(worst_loss, rel_error(loss.item(), want));
      INFO("step " << step << ": loss " << loss.item() << ", PyTorch " << want);
      CHECK(rel_error(loss.item(), want) < 1e-4);
    }

    // The biases of the Linear layers in front of a BatchNorm have a true gradient of zero (the
    // normalisation subtracts any per-channel shift), so their momentum buffers hold only float32
    // rounding noise, ~1e-9. They are compared against the scale of all the buffers of the run.
    double floor = 0;
    for (const auto& [name, values] : run["momentum_buffers"].items())
      for (double v : values) floor = std::max(floor, std::abs(v));
    double worst_param = 0, worst_buffer = 0, worst_stat = 0;
    for (auto& [name, p] : net.named_parameters()) {
      INFO("parameter " << name);
      worst_param = std::max(worst_param, worst_error(p.to_vector(), run["params"][name]));
      worst_buffer = std::max(worst_buffer, worst_error(opt.momentum_buffer(p).to_vector(),
                                                        run["momentum_buffers"][name], floor));
    }
    for (const auto& [name, value] : net.state_dict()) {
      if (!run["buffers"].contains(name)) continue;
      INFO("buffer " << name);
      if (const auto* t = std::get_if<mg::Tensor>(&value)) {
        worst_stat = std::max(worst_stat, worst_error(t->to_vector(), run["buffers"][name]));
      } else {
        CHECK(std::get<int64_t>(value) == static_cast<int64_t>(run["buffers"][name][0]));
      }
    }
    INFO("worst relative error: loss " << worst_loss << ", params " << worst_param << ", momentum "
                                       << worst_buffer << ", running stats " << worst_stat);
    CHECK(worst_param < 1e-4);
    CHECK(worst_buffer < 1e-4);
    CHECK(worst_stat < 1e-4);
  }
}

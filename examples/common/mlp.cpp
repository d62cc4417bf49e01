#include "common/mlp.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace examples {

const char* norm_name(Norm norm) {
  return norm == Norm::batch ? "BatchNorm" : norm == Norm::layer ? "LayerNorm" : "none";
}

const char* activation_name(Activation activation) {
  return activation == Activation::tanh ? "Tanh" : activation == Activation::gelu ? "GELU" : "ReLU";
}

Activation activation_from_flag(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "tanh") return Activation::tanh;
  if (name == "gelu") return Activation::gelu;
  throw std::invalid_argument(
      fmt::format("activation: expected relu, tanh or gelu, got \"{}\"", name));
}

mg::nn::Sequential make_mlp(const MlpSpec& spec, mg::Generator& gen, mg::Generator& dropout_gen) {
  mg::nn::Sequential net;
  int64_t width = spec.inputs;
  for (int64_t h : spec.hidden) {
    net.push_back(mg::nn::Linear(width, h, {}, gen));
    if (spec.norm == Norm::batch) net.push_back(mg::nn::BatchNorm1d(h, spec.batchnorm));
    if (spec.norm == Norm::layer) net.push_back(mg::nn::LayerNorm(h));
    if (spec.activation == Activation::relu) net.push_back(mg::nn::ReLU());
    if (spec.activation == Activation::tanh) net.push_back(mg::nn::Tanh());
    if (spec.activation == Activation::gelu) net.push_back(mg::nn::GELU());  // exact, with erf
    if (spec.dropout > 0) net.push_back(mg::nn::Dropout({.p = spec.dropout}, dropout_gen));
    width = h;
  }
  net.push_back(mg::nn::Linear(width, spec.classes, {}, gen));
  return net;
}

std::string describe_mlp(const MlpSpec& spec, mg::nn::Module& net) {
  int64_t count = 0;
  for (const mg::Tensor& p : net.parameters()) count += p.numel();
  const std::string norm = spec.norm == Norm::batch   ? " -> BatchNorm1d"
                           : spec.norm == Norm::layer ? " -> LayerNorm"
                                                      : "";
  const std::string dropout =
      spec.dropout > 0 ? fmt::format(" -> Dropout(p={})", spec.dropout) : "";
  return fmt::format("{}-{}-{}, Linear{} -> {}{} x{} -> Linear, {} parameters", spec.inputs,
                     fmt::join(spec.hidden, "-"), spec.classes, norm,
                     activation_name(spec.activation), dropout, spec.hidden.size(), count);
}

std::vector<mg::optim::ParamGroup> param_groups(mg::nn::Sequential& net, double weight_decay) {
  mg::optim::ParamGroup decay{.params = {}, .lr = {}, .weight_decay = weight_decay};
  mg::optim::ParamGroup no_decay{.params = {}, .lr = {}, .weight_decay = 0.0};
  for (std::size_t i = 0; i < net.size(); ++i) {
    if (auto* linear = dynamic_cast<mg::nn::Linear*>(&net[i])) {
      decay.params.push_back(linear->weight);
      if (linear->bias.defined()) no_decay.params.push_back(linear->bias);
    } else {
      for (auto& [name, p] : net[i].own_parameters()) no_decay.params.push_back(p);
    }
  }
  return {decay, no_decay};
}

std::unique_ptr<mg::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                     mg::nn::Sequential& net) {
  std::vector<mg::optim::ParamGroup> groups = param_groups(net, spec.weight_decay);
  if (spec.name == "sgd") {
    return std::make_unique<mg::optim::SGD>(std::move(groups),
                                            mg::optim::SGDOptions{.lr = spec.lr,
                                                                  .momentum = spec.momentum,
                                                                  .weight_decay = spec.weight_decay,
                                                                  .nesterov = spec.nesterov});
  }
  if (spec.name == "adamw") {
    return std::make_unique<mg::optim::AdamW>(
        std::move(groups),
        mg::optim::AdamWOptions{.lr = spec.lr, .weight_decay = spec.weight_decay});
  }
  throw std::invalid_argument(
      fmt::format("make_optimizer: expected \"sgd\" or \"adamw\", got \"{}\"", spec.name));
}

}  // namespace examples

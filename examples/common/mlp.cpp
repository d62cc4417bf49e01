#include "common/mlp.hpp"

#include <fmt/format.h>

namespace examples {

const char* norm_name(Norm norm) {
  return norm == Norm::batch ? "BatchNorm" : norm == Norm::layer ? "LayerNorm" : "none";
}

mg::nn::Sequential make_mlp(const MlpSpec& spec, mg::Generator& gen) {
  mg::nn::Sequential net;
  int64_t width = spec.inputs;
  for (int64_t h : spec.hidden) {
    net.push_back(mg::nn::Linear(width, h, {}, gen));
    if (spec.norm == Norm::batch) net.push_back(mg::nn::BatchNorm1d(h, spec.batchnorm));
    if (spec.norm == Norm::layer) net.push_back(mg::nn::LayerNorm(h));
    net.push_back(mg::nn::ReLU());
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
  return fmt::format("{}-{}-{}, Linear{} -> ReLU x{} -> Linear, {} parameters", spec.inputs,
                     fmt::join(spec.hidden, "-"), spec.classes, norm, spec.hidden.size(), count);
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

}  // namespace examples

#include "model.hpp"

#include <fmt/format.h>

namespace train_mlp {

mg::nn::Sequential make_mlp(int64_t inputs, const std::vector<int64_t>& hidden, int64_t classes,
                            bool batchnorm, mg::Generator& gen) {
  mg::nn::Sequential net;
  int64_t width = inputs;
  for (int64_t h : hidden) {
    net.push_back(mg::nn::Linear(width, h, {}, gen));
    if (batchnorm) net.push_back(mg::nn::BatchNorm1d(h));
    net.push_back(mg::nn::ReLU());
    width = h;
  }
  net.push_back(mg::nn::Linear(width, classes, {}, gen));
  return net;
}

std::string describe_mlp(mg::nn::Sequential& net, const std::vector<int64_t>& hidden,
                         bool batchnorm) {
  int64_t count = 0;
  for (const mg::Tensor& p : net.parameters()) count += p.numel();
  const int64_t inputs = net.at<mg::nn::Linear>(0).in_features();
  const int64_t classes = net.at<mg::nn::Linear>(net.size() - 1).out_features();
  return fmt::format("{}-{}-{}, {} x{} -> Linear, {} parameters", inputs, fmt::join(hidden, "-"),
                     classes, batchnorm ? "Linear -> BatchNorm1d -> ReLU" : "Linear -> ReLU",
                     hidden.size(), count);
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

std::vector<int64_t> predict(mg::nn::Sequential& net, const mg::Tensor& x) {
  net.eval();
  mg::NoGradGuard no_grad;
  const mg::Tensor logits = net(x);  // (N, K)
  std::vector<int64_t> labels(logits.size(0));
  for (int64_t i = 0; i < logits.size(0); ++i) logits.matrix().row(i).maxCoeff(&labels[i]);
  return labels;
}

Evaluation evaluate(mg::nn::Sequential& net, const mg::data::Dataset& ds) {
  net.eval();
  mg::NoGradGuard no_grad;
  const mg::Tensor logits = net(ds.x);  // (N, K)
  Evaluation e;
  e.loss = mg::nn::cross_entropy(logits, std::span<const int64_t>(ds.y)).item();
  int64_t correct = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    Eigen::Index k;
    logits.matrix().row(i).maxCoeff(&k);
    correct += k == ds.y[i];
  }
  e.accuracy = static_cast<double>(correct) / static_cast<double>(ds.size());
  return e;
}

}  // namespace train_mlp

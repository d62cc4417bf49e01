#include "experiments/fold_bn.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace experiments {

mg::nn::Linear fold(const mg::nn::Linear& linear, const mg::nn::BatchNorm1d& bn) {
  if (!bn.options().track_running_stats || bn.num_features() != linear.out_features()) {
    throw std::invalid_argument("fold: expected a BatchNorm1d with running statistics over " +
                                std::to_string(linear.out_features()) + " features");
  }
  const int64_t O = linear.out_features(), I = linear.in_features();
  mg::nn::Linear folded(I, O);
  for (int64_t o = 0; o < O; ++o) {
    const double gamma = bn.options().affine ? bn.weight.at(o) : 1.0;
    const double beta = bn.options().affine ? bn.bias.at(o) : 0.0;
    const double scale = gamma / std::sqrt(bn.running_var.at(o) + bn.options().eps);
    for (int64_t i = 0; i < I; ++i)
      folded.weight.data()[o * I + i] = static_cast<float>(scale * linear.weight.at(o, i));
    const double b = linear.bias.defined() ? linear.bias.at(o) : 0.0;
    folded.bias.data()[o] = static_cast<float>(scale * (b - bn.running_mean.at(o)) + beta);
  }
  return folded;
}

mg::nn::Sequential fold_network(mg::nn::Sequential& net) {
  mg::nn::Sequential out;
  for (size_t i = 0; i < net.size(); ++i) {
    if (auto* linear = dynamic_cast<mg::nn::Linear*>(&net[i])) {
      auto* bn = i + 1 < net.size() ? dynamic_cast<mg::nn::BatchNorm1d*>(&net[i + 1]) : nullptr;
      if (bn) {
        out.push_back(fold(*linear, *bn));
        ++i;
      } else {
        mg::nn::Linear copy(linear->in_features(), linear->out_features());
        copy.weight.flat() = linear->weight.flat();
        copy.bias.flat() = linear->bias.flat();
        out.push_back(std::move(copy));
      }
    } else if (dynamic_cast<mg::nn::ReLU*>(&net[i])) {
      out.push_back(mg::nn::ReLU());
    } else {
      throw std::invalid_argument("fold_network: expected Linear, BatchNorm1d and ReLU, got " +
                                  net[i].repr());
    }
  }
  return out;
}

int64_t ops_per_sample(mg::nn::Sequential& net) {
  int64_t ops = 0, width = 0;
  for (size_t i = 0; i < net.size(); ++i) {
    if (auto* l = dynamic_cast<mg::nn::Linear*>(&net[i])) {
      ops += l->in_features() * l->out_features() + l->out_features();
      width = l->out_features();
    } else if (dynamic_cast<mg::nn::BatchNorm1d*>(&net[i])) {
      ops += 2 * width;
    } else {
      ops += width;
    }
  }
  return ops;
}

}  // namespace experiments

// The MLP train_mlp trains, its parameter groups, and how it is evaluated.
// Legend: N = points, K = classes, H = a hidden width.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace train_mlp {

// 2 -> [Linear(H) -> BatchNorm1d(H) -> ReLU] per hidden width -> Linear(K); without BatchNorm
// the blocks are Linear -> ReLU. The Linear layers draw their weights from `gen` in order, so
// the same seed gives the same initial Linear weights with and without BatchNorm.
mg::nn::Sequential make_mlp(int64_t inputs, const std::vector<int64_t>& hidden, int64_t classes,
                            bool batchnorm, mg::Generator& gen);

// "2-64-64-3, Linear -> BatchNorm1d -> ReLU x2 -> Linear, 4,675 parameters"
std::string describe_mlp(mg::nn::Sequential& net, const std::vector<int64_t>& hidden,
                         bool batchnorm);

// Two SGD groups: Linear weights, which weight decay pulls toward 0, and everything else
// (biases, BatchNorm's gamma and beta) with weight_decay = 0. Decaying gamma would fight the
// scale BatchNorm is there to learn, and a bias has no scale to regularise.
std::vector<mg::optim::ParamGroup> param_groups(mg::nn::Sequential& net, double weight_decay);

struct Evaluation {
  double loss = 0;      // mean cross-entropy
  double accuracy = 0;  // fraction of points whose largest logit is the right class
};

// Evaluation mode (BatchNorm uses its running statistics), no graph; leaves the net in eval().
Evaluation evaluate(mg::nn::Sequential& net, const mg::data::Dataset& ds);

// The predicted class of each row of x: (N, 2) -> N labels. Leaves the net in eval().
std::vector<int64_t> predict(mg::nn::Sequential& net, const mg::Tensor& x);

}  // namespace train_mlp

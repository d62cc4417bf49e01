// The MLP every example trains, with a choice of normalisation, activation and dropout, its
// parameter groups and its optimizer.
//
//   inputs -> [Linear(H) -> norm(H) -> activation -> Dropout(p)] per hidden width H
//          -> Linear(classes)
//
// norm is BatchNorm1d(H), LayerNorm(H) or nothing; activation is ReLU, Tanh or GELU (exact);
// Dropout is there only when p > 0. The modules sit in one Sequential in that order, so the
// state_dict keys are those of the same nn.Sequential in PyTorch: with BatchNorm and Dropout,
// 0.weight, 1.running_mean, (2 activation, 3 Dropout: no state), 4.weight, ...
// Legend: H = a hidden width.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace examples {

enum class Norm { none, batch, layer };
enum class Activation { relu, tanh, gelu };

// "BatchNorm", "LayerNorm" or "none".
const char* norm_name(Norm norm);
// The module's name as PyTorch prints it: "ReLU", "Tanh" or "GELU".
const char* activation_name(Activation activation);
// "relu", "tanh" or "gelu" (train_mlp's --activation); std::invalid_argument for anything else.
Activation activation_from_flag(const std::string& name);

struct MlpSpec {
  int64_t inputs = 2;
  std::vector<int64_t> hidden = {64, 64};
  int64_t classes = 3;
  Norm norm = Norm::batch;
  mg::nn::BatchNormOptions batchnorm = {};  // with Norm::batch
  Activation activation = Activation::relu;
  double dropout = 0;  // p of the Dropout after each activation, in [0, 1); 0: no Dropout module
};

// The Linear layers draw their weights from `gen` in order, so the same seed gives the same
// initial Linear weights whatever the normalisation, activation or dropout. The Dropout layers
// all draw their masks from `dropout_gen`, which must outlive the network.
mg::nn::Sequential make_mlp(const MlpSpec& spec, mg::Generator& gen,
                            mg::Generator& dropout_gen = mg::default_generator());

// "2-64-64-3, Linear -> BatchNorm1d -> ReLU x2 -> Linear, 4,675 parameters"; with dropout
// "... -> GELU -> Dropout(p=0.1) x2 -> ...".
std::string describe_mlp(const MlpSpec& spec, mg::nn::Module& net);

// Two optimizer groups: Linear weights, which weight decay pulls toward 0, and everything else
// (biases, BatchNorm's and LayerNorm's gamma and beta) with weight_decay = 0. Decaying gamma
// would fight the scale the normalisation is there to learn, and a bias has no scale to
// regularise.
std::vector<mg::optim::ParamGroup> param_groups(mg::nn::Sequential& net, double weight_decay);

// The optimizer of a run, over param_groups(net, weight_decay) whichever it is, so that weight
// decay reaches the Linear weights only:
//   sgd    SGD with momentum (and nesterov); weight decay is an L2 term added to the gradient
//   adamw  AdamW with PyTorch's betas (0.9, 0.999) and eps 1e-8; weight decay is decoupled,
//          p *= 1 - lr * weight_decay before each step (optim/adam.hpp)
struct OptimizerSpec {
  std::string name = "sgd";  // "sgd" or "adamw"
  double lr = 0.1;
  double weight_decay = 0;
  double momentum = 0;    // sgd only
  bool nesterov = false;  // sgd only
};
std::unique_ptr<mg::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                     mg::nn::Sequential& net);

}  // namespace examples

// The MLP every example trains, with a choice of normalisation, and its parameter groups.
//
//   inputs -> [Linear(H) -> norm(H) -> ReLU] per hidden width H -> Linear(classes)
//
// norm is BatchNorm1d(H), LayerNorm(H) or nothing. Legend: H = a hidden width.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace examples {

enum class Norm { none, batch, layer };

// "BatchNorm", "LayerNorm" or "none".
const char* norm_name(Norm norm);

struct MlpSpec {
  int64_t inputs = 2;
  std::vector<int64_t> hidden = {64, 64};
  int64_t classes = 3;
  Norm norm = Norm::batch;
  mg::nn::BatchNormOptions batchnorm = {};  // with Norm::batch
};

// The Linear layers draw their weights from `gen` in order, so the same seed gives the same
// initial Linear weights whatever the normalisation.
mg::nn::Sequential make_mlp(const MlpSpec& spec, mg::Generator& gen);

// "2-64-64-3, Linear -> BatchNorm1d -> ReLU x2 -> Linear, 4,675 parameters"
std::string describe_mlp(const MlpSpec& spec, mg::nn::Module& net);

// Two optimizer groups: Linear weights, which weight decay pulls toward 0, and everything else
// (biases, BatchNorm's and LayerNorm's gamma and beta) with weight_decay = 0. Decaying gamma
// would fight the scale the normalisation is there to learn, and a bias has no scale to
// regularise.
std::vector<mg::optim::ParamGroup> param_groups(mg::nn::Sequential& net, double weight_decay);

}  // namespace examples

// One training run of the page's "Train live" panel: train_mlp's network, data and optimizer, taken
// one SGD step at a time so the page can draw between steps.
//
// Everything is built as train_mlp builds it (examples/train_mlp/trainer.cpp and main.cpp): the
// data set and its split from the seed, the initial Linear weights from the seed's "weights"
// stream, SGD with weight decay on Linear weights only, shuffled batches with drop_last. The
// learning rate stays constant (train_mlp --schedule none). So step k of a run here is step k of
// `train_mlp --schedule none` with the same flags; the ctest playground_twin_matches_train_mlp
// checks it.
//
// Legend: N = batch, C = channels of a BatchNorm1d, K = classes, F = 2 input features.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <minigrad/minigrad.hpp>

#include "common/mlp.hpp"

namespace playground {

struct RunSettings {
  std::string dataset = "spirals";  // spirals | moons | blobs | circles
  int64_t samples = 1500;           // train + test
  int64_t classes = 3;              // moons: always 2
  std::optional<double> noise;      // empty: train_mlp's default for the data set
  double test_fraction = 0.2;
  std::vector<int64_t> hidden = {64, 64};
  examples::Norm norm = examples::Norm::batch;
  mg::nn::BatchNormOptions batchnorm = {};  // with Norm::batch (momentum: 0.1, or empty = None)
  int64_t batch_size = 32;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;  // Linear weights only
  uint64_t seed = 0;
};

// train_mlp's default noise: spirals 0.04, moons 0.1, blobs 0.5, circles 0.05.
double default_noise(const std::string& dataset);

// What one BatchNorm1d saw in the last training step.
struct BatchNormInput {
  std::size_t module = 0;  // its index in the Sequential
  mg::Tensor x;            // (N, C) its input, a copy
};

class Run {
 public:
  explicit Run(const RunSettings& settings);

  // One optimizer step on the next batch, as examples::train_epoch takes it: zero_grad,
  // forward in train mode, cross-entropy, backward, step. Returns the batch's loss.
  double step();

  const RunSettings& settings() const { return settings_; }
  mg::nn::Sequential& net() { return net_; }
  const mg::data::Dataset& train_set() const { return data_.first; }
  const mg::data::Dataset& test_set() const { return data_.second; }
  int64_t steps_done() const { return steps_; }
  int64_t steps_per_epoch() const { return loader_.num_batches(); }
  // The Sequential indices of the BatchNorm1d layers, in order.
  const std::vector<std::size_t>& batchnorm_modules() const { return batchnorm_modules_; }
  // The inputs of the BatchNorm1d layers in the last step (empty before the first).
  const std::vector<BatchNormInput>& last_inputs() const { return last_inputs_; }
  mg::nn::BatchNorm1d& batchnorm(std::size_t which);  // the which-th BatchNorm1d layer

  // The input of module `module` for rows x (M, F), with every layer before it in eval mode
  // (running statistics, nothing updated); leaves the net in eval mode.
  mg::Tensor input_of(std::size_t module, const mg::Tensor& x);

 private:
  RunSettings settings_;
  std::pair<mg::data::Dataset, mg::data::Dataset> data_;  // (train, test)
  mg::nn::Sequential net_;
  mg::optim::SGD sgd_;
  mg::data::DataLoader loader_;
  std::optional<mg::data::DataLoader::Iterator> next_;  // the next batch; empty: start an epoch
  int64_t steps_ = 0;
  std::vector<std::size_t> batchnorm_modules_;
  std::vector<BatchNormInput> last_inputs_;
};

}  // namespace playground

#include "experiments/frozen_bn.hpp"

#include <algorithm>
#include <cmath>

#include "common/mlp.hpp"
#include "common/training.hpp"

using namespace examples;

namespace experiments::frozen {

const char* mode_name(Mode m) {
  return m == Mode::plain ? "plain" : m == Mode::frozen ? "frozen" : "frozen affine";
}

void apply(mg::nn::Sequential& net, Mode mode) {
  for (size_t i = 0; i < net.size(); ++i)
    if (auto* bn = dynamic_cast<mg::nn::BatchNorm1d*>(&net[i]); bn && mode != Mode::plain)
      bn->freeze(mode == Mode::frozen_affine);
}

std::vector<float> running_stats(mg::nn::Sequential& net) {
  std::vector<float> out;
  for (auto& b : net.named_buffers())
    if (b.tensor.defined())
      for (float v : b.tensor.to_vector()) out.push_back(v);
  return out;
}

double running_stat_change(mg::nn::Sequential& net, const std::vector<float>& before) {
  const std::vector<float> now = running_stats(net);
  double worst = 0;
  for (size_t i = 0; i < now.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(now[i] - before[i])));
  return worst;
}

std::vector<Result> run(const Setup& setup) {
  const auto [pre_train, pre_test] =
      mg::data::train_test_split(mg::data::make_spirals(1000, 2, 0.05, 1), 0.2, 2);
  const MlpSpec spec{.inputs = 2, .hidden = {32, 32}, .classes = 2, .norm = Norm::batch};
  mg::Generator weights(3);
  mg::nn::Sequential pretrained = make_mlp(spec, weights);
  train_sgd(pretrained, pre_train, {.batch_size = 32, .epochs = setup.pretrain_epochs, .lr = 0.01});
  // The new task: the same spirals with twice the noise; few labelled samples.
  const auto [all_new, new_test] =
      mg::data::train_test_split(mg::data::make_spirals(600, 2, 0.1, 7), 0.5, 8);
  const auto [unused, new_train] = mg::data::train_test_split(
      all_new, static_cast<double>(setup.finetune_samples) / all_new.size(), 9);
  std::vector<Result> results{{Mode::plain, evaluate(pretrained, new_test).accuracy, 0}};
  const std::vector<float> stats = running_stats(pretrained);
  for (Mode mode : {Mode::plain, Mode::frozen, Mode::frozen_affine}) {
    mg::Generator same_weights(3);
    mg::nn::Sequential net = make_mlp(spec, same_weights);
    net.load_state_dict(pretrained.state_dict());
    apply(net, mode);
    train_sgd(net, new_train,
              {.batch_size = setup.finetune_batch,
               .epochs = setup.finetune_epochs,
               .lr = setup.finetune_lr});
    results.push_back({mode, evaluate(net, new_test).accuracy, running_stat_change(net, stats)});
  }
  return results;
}

}  // namespace experiments::frozen

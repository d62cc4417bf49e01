// Frozen BatchNorm for fine-tuning. A model pretrained with BatchNorm at batch size 32 is
// fine-tuned on a few samples of a noisier version of its task, at batch size 2, three ways:
//   plain          BatchNorm in train(): normalises with the statistics of 2 samples and drags
//                  the running statistics toward them;
//   frozen         bn.freeze(): running statistics fixed and used in train() too; gamma and beta
//                  still learn;
//   frozen affine  bn.freeze(true): gamma and beta fixed as well.
// The calls to net.train() during fine-tuning do not undo freeze().
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <minigrad/minigrad.hpp>

#include "examples/experiments/mlp.hpp"

namespace experiments::frozen {

enum class Mode { plain, frozen, frozen_affine };

inline const char* mode_name(Mode m) {
  return m == Mode::plain ? "plain" : m == Mode::frozen ? "frozen" : "frozen affine";
}

// Freezes (or not) every BatchNorm1d of `net`.
inline void apply(mg::nn::Sequential& net, Mode mode) {
  for (size_t i = 0; i < net.size(); ++i)
    if (auto* bn = dynamic_cast<mg::nn::BatchNorm1d*>(&net[i]); bn && mode != Mode::plain)
      bn->freeze(mode == Mode::frozen_affine);
}

// Every running statistic of `net`, in order (the tensor buffers; counters left out).
inline std::vector<float> running_stats(mg::nn::Sequential& net) {
  std::vector<float> out;
  for (auto& b : net.named_buffers())
    if (b.tensor.defined())
      for (float v : b.tensor.to_vector()) out.push_back(v);
  return out;
}

// The largest |change| of any running statistic of `net` against `before`.
inline double running_stat_change(mg::nn::Sequential& net, const std::vector<float>& before) {
  const std::vector<float> now = running_stats(net);
  double worst = 0;
  for (size_t i = 0; i < now.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(now[i] - before[i])));
  return worst;
}

struct Result {
  Mode mode;
  double accuracy;     // on the new task's test set, eval()
  double stat_change;  // largest change of a running statistic during fine-tuning
};

struct Setup {
  int64_t pretrain_epochs = 20;
  int64_t finetune_samples = 64;
  int64_t finetune_epochs = 5;
  int64_t finetune_batch = 2;
  double finetune_lr = 0.001;  // a tenth of the pretraining rate, as usual when fine-tuning
};

// Pretrains once, then fine-tunes a copy of the pretrained model in each mode. The first result
// is the pretrained model itself on the new task (mode plain, no fine-tuning, stat_change 0).
inline std::vector<Result> run(const Setup& setup = {}) {
  const auto [pre_train, pre_test] =
      mg::data::train_test_split(mg::data::make_spirals(1000, 2, 0.05, 1), 0.2, 2);
  mg::nn::Sequential pretrained = make_mlp(Norm::batch, 2, 32, 2, 3);
  train(pretrained, pre_train, {.batch_size = 32, .epochs = setup.pretrain_epochs, .lr = 0.01});
  // The new task: the same spirals with twice the noise; few labelled samples.
  const auto [all_new, new_test] =
      mg::data::train_test_split(mg::data::make_spirals(600, 2, 0.1, 7), 0.5, 8);
  const auto [unused, new_train] = mg::data::train_test_split(
      all_new, static_cast<double>(setup.finetune_samples) / all_new.size(), 9);
  std::vector<Result> results{{Mode::plain, eval_accuracy(pretrained, new_test), 0}};
  const std::vector<float> stats = running_stats(pretrained);
  for (Mode mode : {Mode::plain, Mode::frozen, Mode::frozen_affine}) {
    mg::nn::Sequential net = make_mlp(Norm::batch, 2, 32, 2, 3);
    net.load_state_dict(pretrained.state_dict());
    apply(net, mode);
    train(net, new_train,
          {.batch_size = setup.finetune_batch,
           .epochs = setup.finetune_epochs,
           .lr = setup.finetune_lr});
    results.push_back({mode, eval_accuracy(net, new_test), running_stat_change(net, stats)});
  }
  return results;
}

}  // namespace experiments::frozen

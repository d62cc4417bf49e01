// Frozen BatchNorm for fine-tuning. A model pretrained with BatchNorm at batch size 32 is
// fine-tuned on a few samples of a noisier version of its task, at batch size 2, three ways:
//   plain          BatchNorm in train(): normalises with the statistics of 2 samples and drags
//                  the running statistics toward them;
//   frozen         bn.freeze(): running statistics fixed and used in train() too; gamma and beta
//                  still learn;
//   frozen affine  bn.freeze(true): gamma and beta fixed as well.
// The calls to net.train() during fine-tuning do not undo freeze().
#pragma once

#include <cstdint>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace experiments::frozen {

enum class Mode { plain, frozen, frozen_affine };

const char* mode_name(Mode m);

// Freezes (or not) every BatchNorm1d of `net`.
void apply(mg::nn::Sequential& net, Mode mode);

// Every running statistic of `net`, in order (the tensor buffers; counters left out).
std::vector<float> running_stats(mg::nn::Sequential& net);

// The largest |change| of any running statistic of `net` against `before`.
double running_stat_change(mg::nn::Sequential& net, const std::vector<float>& before);

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
std::vector<Result> run(const Setup& setup = {});

}  // namespace experiments::frozen

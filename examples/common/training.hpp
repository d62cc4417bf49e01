// The examples' training loop (one epoch of optimizer steps on cross-entropy) and evaluation
// (loss and accuracy in eval mode). train_mlp and the experiments train with the same loop.
// Legend: N = points, K = classes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace examples {

// Where a caller looks into the loop; every hook is optional. `step` counts from 1.
struct EpochHooks {
  // The loss value a step records, from this process's: data-parallel training averages it over
  // the processes here, so that every process records (and stops on) the same number.
  std::function<double(double local_loss)> reduce_loss;
  // Before the backward of a step, with its loss and the recorded value; returning false ends
  // the epoch there, before that step changes anything (train_mlp stops on a NaN/Inf loss).
  std::function<bool(const mg::Tensor& loss, double value, int64_t step)> before_backward;
  // After the backward, before the optimizer step: data-parallel training averages the
  // gradients over the processes here (mg::dist::average_gradients).
  std::function<void()> after_backward;
  // After each optimizer step, with the mean loss so far; returning false ends the epoch there.
  std::function<bool(int64_t step, double mean_loss)> after_step;
};

struct EpochResult {
  double loss_sum = 0;   // the sum of the steps' losses
  int64_t steps = 0;     // optimizer steps taken (and, given to train_epoch, steps done before)
  bool stopped = false;  // a hook ended the epoch before its last batch
  double mean_loss() const { return loss_sum / static_cast<double>(steps); }
};

// One pass over `loader` in train mode: per batch, zero_grad, forward, cross-entropy, backward,
// step. A run resumed in the middle of an epoch passes what it had done: the first done.steps
// batches are drawn but not trained on, and the loss sum continues from done.loss_sum, so the
// epoch's numbers are those of an uninterrupted one. Step numbers count from the epoch's start.
EpochResult train_epoch(mg::nn::Module& net, mg::data::DataLoader& loader,
                        mg::optim::Optimizer& optimizer, const EpochHooks& hooks = {},
                        const EpochResult& done = {});

// Plain SGD on cross-entropy over `ds` for opt.epochs epochs (shuffled batches of
// opt.batch_size; a last smaller batch is dropped, as a batch of one gives BatchNorm no
// statistics). Returns the mean loss of each epoch.
struct SgdRun {
  int64_t batch_size = 32;
  int64_t epochs = 20;
  double lr = 0.05;
  double momentum = 0.9;
  uint64_t seed = 0;  // the loader's shuffling
};
std::vector<double> train_sgd(mg::nn::Module& net, const mg::data::Dataset& ds, const SgdRun& run);

// The index of the largest entry of each row of `logits` (N, K); the first one on a tie.
std::vector<int64_t> argmax_rows(const mg::Tensor& logits);

// The fraction of rows of `logits` (N, K) whose largest entry is the label.
double accuracy(const mg::Tensor& logits, std::span<const int64_t> labels);

struct Evaluation {
  double loss = 0;      // mean cross-entropy
  double accuracy = 0;  // fraction of points whose largest logit is the right class
};

// The whole data set at once in eval mode (BatchNorm uses its running statistics), without
// recording a graph; leaves the net in eval().
Evaluation evaluate(mg::nn::Module& net, const mg::data::Dataset& ds);

// The predicted class of each row of x (N, F). Leaves the net in eval().
std::vector<int64_t> predict(mg::nn::Module& net, const mg::Tensor& x);

}  // namespace examples

// The train/eval gap of BatchNorm, taken apart. In train() a BatchNorm1d normalises with the
// batch's own mean and *biased* variance; in eval() with running statistics built from
// *unbiased* batch variances and an exponential average that starts at mean 0, variance 1.
// Two effects follow, both exact:
//   - Bessel: on the batch that produced the statistics (momentum 1), eval output / train output
//     = sqrt(biased / unbiased) = sqrt((N - 1) / N) per feature;
//   - warm-up: after k training steps with momentum m, a weight (1 - m)^k of the running
//     statistics is still the initial (0, 1).
// On a trained model a third, statistical part adds to them: one batch's statistics are noisy.
#pragma once

#include <cstdint>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace experiments::gap {

double bessel_factor(int64_t N);

double initial_weight_left(double momentum, int64_t steps);

// One training forward of a BatchNorm1d(C, momentum 1, eps 0) on x (N, C), then an eval forward
// on the same x: the per-feature ratio eval / train of the centred outputs.
std::vector<double> momentum_one_ratio(const mg::Tensor& x);

// Feeds the same batch x (N, C) to a BatchNorm1d(C, momentum m) k times in train(), and returns
// the measured weight still on the initial running_mean (0): 1 - running_mean / batch_mean,
// averaged over features. x's feature means must be away from zero.
double measured_initial_weight(const mg::Tensor& x, double momentum, int64_t k);

// Per feature of one BatchNorm1d inside a model, measured over many batches h of its input:
struct FeatureGap {
  double var_ratio;   // mean over batches of (biased batch variance) / running_var
  double mean_shift;  // RMS over batches of (batch mean - running_mean) / sqrt(running_var)
  double output_gap;  // RMS of (train output - eval output) / |gamma|, in units of x_hat
};

// `inputs` are batches (N, C) of the BatchNorm's input. The layer is run in train() and eval()
// on each; its buffers are put back after every train() forward, so nothing changes.
std::vector<FeatureGap> feature_gaps(mg::nn::BatchNorm1d& bn,
                                     const std::vector<mg::Tensor>& inputs);

}  // namespace experiments::gap

// The batch-size sweep: the same MLP trained at batch sizes 2 to 128 with BatchNorm, LayerNorm or
// no normalisation, each run seeing the same number of samples (the same epochs). For each run:
// test accuracy in eval(), the train/eval gap (test accuracy with batch statistics minus test
// accuracy with running statistics) and, for BatchNorm, the noise of the batch statistics.
#pragma once

#include <cstdint>

#include <minigrad/minigrad.hpp>

#include "common/mlp.hpp"

namespace experiments::sweep {

// The noise of batch means: h = first(x) over the whole data set gives each feature's mean and
// standard deviation; over the batches of one epoch, the RMS distance of each batch's feature
// mean from the full mean, in standard deviations, averaged over features. For independent
// samples it is 1 / sqrt(B) (a little less: batches are drawn without replacement).
double batch_mean_noise(mg::nn::Linear& first, const mg::data::Dataset& ds, int64_t B,
                        uint64_t seed);

struct Result {
  examples::Norm norm;
  int64_t batch;
  double test_accuracy;   // eval()
  double train_mode_gap;  // test accuracy in train() (batches of B) minus in eval()
  double batch_noise;     // batch_mean_noise before training; NaN without BatchNorm
  double seconds;
};

Result run(examples::Norm norm, int64_t B, const mg::data::Dataset& train_set,
           const mg::data::Dataset& test_set, int64_t epochs, double lr, uint64_t seed = 3);

}  // namespace experiments::sweep

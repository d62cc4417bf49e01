// The training loop: SGD over shuffled batches, one evaluation per epoch, a checkpoint after
// every epoch, and a clean stop when the loss stops being a number.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

#include "console.hpp"
#include "flags.hpp"
#include "metrics.hpp"

namespace train_mlp {

struct Split {
  mg::data::Dataset train, test;
};
// The data set named by the flags, split into train and test (both from --seed).
Split make_split(const Config& c);

struct RunResult {
  std::vector<EpochMetrics> history;
  bool stopped = false;      // a NaN/Inf loss (or, with --detect-anomaly, an op) ended it early
  std::string stop_message;  // what happened, where, and which checkpoint is the last good one
  double seconds = 0;        // total wall-clock time
};

// Trains `net` from epoch `start_epoch` (0 for a fresh net) to c.epochs and writes into `dir`:
// model.safetensors after every epoch, graph.dot of the first step, and at the end
// metrics.csv, timing.csv, loss.svg and boundary.svg.
RunResult train(const Config& c, const Split& data, mg::nn::Sequential& net, bool batchnorm,
                int64_t start_epoch, const std::filesystem::path& dir, Console& console);

}  // namespace train_mlp

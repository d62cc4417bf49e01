// One row of training history per epoch, and the files it is saved to.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace train_mlp {

struct EpochMetrics {
  int64_t epoch = 0;      // 1-based
  double train_loss = 0;  // mean cross-entropy of the epoch's training batches
  double train_acc = 0;   // accuracy on the whole training set, in eval mode, after the epoch
  double test_loss = 0;   // mean cross-entropy on the test set, in eval mode
  double test_acc = 0;    // accuracy on the test set, in eval mode
  double lr = 0;          // the learning rate this epoch's steps used
  double seconds = 0;     // wall-clock time of the epoch: its steps, the evaluation, the checkpoint
};

// metrics.csv: epoch,train_loss,train_acc,test_loss,test_acc,lr with fixed precision. It holds
// no wall-clock times, so two runs with the same seed and one thread write identical bytes.
void write_metrics_csv(const std::filesystem::path& path, const std::vector<EpochMetrics>& rows);
// timing.csv: epoch,seconds (the part of the history that differs from run to run).
void write_timing_csv(const std::filesystem::path& path, const std::vector<EpochMetrics>& rows);

// The rows of folder/metrics.csv (and the seconds of folder/timing.csv) up to epoch `last`, as
// written by the functions above: a resumed run continues the history of the one it resumes.
// Empty when there is no metrics.csv; std::runtime_error naming the file for a malformed one.
std::vector<EpochMetrics> read_history(const std::filesystem::path& folder, int64_t last);

// The first epoch whose test accuracy reaches `threshold`, if any.
std::optional<int64_t> epochs_to_reach(const std::vector<EpochMetrics>& rows, double threshold);

}  // namespace train_mlp

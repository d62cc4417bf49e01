// The training run: the optimizer and schedule around the network, the epochs (the loop itself
// is examples::train_epoch), one evaluation per epoch, a checkpoint and the metrics files after
// every epoch, and a clean stop when the loss stops being a number, explodes, or a signal asks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

#include "checkpoint.hpp"
#include "common/mlp.hpp"
#include "console.hpp"
#include "flags.hpp"
#include "metrics.hpp"
#include "run_files.hpp"

namespace train_mlp {

struct Split {
  mg::data::Dataset train, test;
};
// The data set named by the flags, split into train and test (both from --seed).
Split make_split(const Config& c);

// SIGINT and SIGTERM ask the run to stop after the current step (a second one ends the process
// at once). Returns the signal that asked, or 0.
void install_stop_handlers();
int stop_signal();

struct RunResult {
  std::vector<EpochMetrics> history;  // on a resume, the rows before it too
  bool stopped = false;               // a NaN/Inf or exploding loss, an anomaly, or a signal
  int signal = 0;                     // the signal that stopped it, or 0
  std::string stop_message;           // what happened, where, and what to do next
  double seconds = 0;                 // the sum of this run's epoch times (EpochMetrics::seconds)
  // Under mpirun: the parameter values that differ from process 0's at the end, summed over the
  // processes (0: every process holds the same network, as data parallelism promises).
  int64_t values_differing = 0;
};

// One network's training: built fresh, or restored from a checkpoint, then run.
class Trainer {
 public:
  // `net` is freshly made from `spec`; the trainer keeps references to all four.
  Trainer(const Config& c, const Split& data, mg::nn::Sequential& net,
          const examples::MlpSpec& spec);

  // Restores the weights, the optimizer, the schedule, the progress, the loader and Dropout's
  // stream from the checkpoint `model_file` and its training state, and the history from the
  // metrics.csv beside it. Everything is read and checked first; std::runtime_error (or
  // mg::CheckpointError) says what is wrong, and nothing has been written.
  void restore(const std::filesystem::path& model_file);
  const Progress& progress() const { return progress_; }
  // What a user resuming should know (a schedule that keeps the checkpoint's length).
  const std::vector<std::string>& notes() const { return notes_; }

  // Trains up to c.epochs and writes into `dir` (which must exist): model.safetensors and
  // training_state.safetensors, metrics.csv and timing.csv after every epoch, graph.dot of the
  // first step, loss.svg and boundary.svg at the end; each step's loss to `step_log` if given
  // (--log-steps, opened by the caller before the folder is made). A file that cannot be
  // written is a std::runtime_error naming it.
  RunResult run(const std::filesystem::path& dir, Console& console, StepLog* step_log = nullptr);

 private:
  TrainingState capture() const;
  void save(const std::filesystem::path& model_file) const;

  const Config& c_;
  const Split& data_;
  mg::nn::Sequential& net_;
  examples::MlpSpec spec_;
  std::unique_ptr<mg::optim::Optimizer> optimizer_;
  std::unique_ptr<mg::optim::LRScheduler> schedule_;
  mg::data::DataLoader loader_;
  std::vector<std::string> names_;  // the optimizer's parameters' names, PyTorch's numbering
  mg::Generator* dropout_stream_;   // the net's Dropout masks' stream (null without Dropout)
  Progress progress_;
  std::vector<EpochMetrics> history_;
  std::filesystem::path last_checkpoint_;  // empty until one exists
  std::vector<std::string> notes_;
};

}  // namespace train_mlp

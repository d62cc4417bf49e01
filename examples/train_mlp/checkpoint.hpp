// train_mlp's checkpoint: two files side by side, written after every epoch and when a signal
// stops the run.
//
//   model.safetensors           the network's state_dict under PyTorch's keys (it loads into
//                               the same PyTorch model), with metadata saying which network it is
//                               and how far it was trained (CheckpointInfo)
//   training_state.safetensors  the rest of what an exact resume needs (TrainingState): the
//                               optimizer's state by parameter name, the schedule's state, the
//                               progress within the run, the data loader's epoch, the random
//                               generators' states, and the flags that define the run
//
// Both are safetensors files: arrays and strings, nothing that runs code on load. Each is written
// atomically; both carry the progress, so a pair left mismatched by a crash between the two
// writes is refused rather than resumed. Everything is read and checked before anything is
// changed. The functions work on one process's objects, so a run with several processes can
// call them on each.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace train_mlp {

// How far a run has come.
struct Progress {
  int64_t epoch = 0;    // epochs finished
  int64_t step = 0;     // steps of epoch + 1 finished: 0 at an epoch's end, more after a signal
  double loss_sum = 0;  // the sum of those steps' losses (the epoch's mean loss needs them)

  bool operator==(const Progress&) const = default;
};

// Where a progress stands, in the words of the messages: "the end of epoch 2", or "step 1320
// of epoch 3" (epochs counted from 1, as the table prints them).
std::string describe(const Progress& p);

// What model.safetensors records besides the weights.
struct CheckpointInfo {
  std::string dataset;
  int64_t classes = 0;
  std::vector<int64_t> hidden;
  bool batchnorm = true;
  std::string activation = "relu";  // checkpoints from before --activation: relu
  double dropout = 0;               // and no Dropout
  Progress progress;                // epoch and step (loss_sum is in the training state only)
};

// The flags that define a run, as the text a command line would give them:
// {"--dataset", "moons"}, {"--hidden", "64,64"}, {"--lr", "0.1"}, {"--no-bn", "false"}, ...
using RunConfig = std::map<std::string, std::string>;

struct TrainingState {
  Progress progress;
  RunConfig config;
  mg::NamedState optimizer;  // the optimizer's state_dict (parameters numbered as PyTorch does)
  mg::NamedState schedule;   // the schedule's state_dict; empty without one
  int64_t loader_epoch = 0;  // the DataLoader's epoch counter (its order comes from seed, epoch)
  // Other streams, by name: "dropout.{r}", process r's stream of Dropout masks.
  std::map<std::string, mg::Generator::State> generators;
};

// <folder of model_file>/training_state.safetensors
std::filesystem::path training_state_path(const std::filesystem::path& model_file);

// Writes training_state.safetensors, then model.safetensors (each atomically). `names` are the
// optimizer's parameters' names in the net, by PyTorch's numbering (parameter_names): the
// optimizer state is stored under them ("state.0.weight.momentum_buffer").
void save_checkpoint(mg::nn::Module& net, const std::filesystem::path& model_file,
                     const CheckpointInfo& info, const TrainingState& state,
                     const std::vector<std::string>& names);

// The info in model.safetensors' metadata, without loading it; std::runtime_error when the file
// was not written by train_mlp.
CheckpointInfo read_checkpoint_info(const std::filesystem::path& model_file);

// The run configuration saved in the training state beside `model_file`; nullopt when there is
// no training state (a checkpoint of weights only).
std::optional<RunConfig> read_run_config(const std::filesystem::path& model_file);

// The training state beside `model_file`, checked: every entry present and of its kind, the
// progress the same as the model file's. `names` are the current optimizer's parameter names:
// the file must hold the same parameters, in the same order. std::runtime_error naming the file
// and the problem.
TrainingState read_training_state(const std::filesystem::path& model_file,
                                  const CheckpointInfo& info,
                                  const std::vector<std::string>& names);

// Checks that the counters `state` holds agree with each other and with the run whose flags it
// saved: the data loader and the schedule have started and finished the epochs the progress
// says, a checkpoint in the middle of an epoch is short of its `steps_per_epoch` steps and has
// a loss sum of them, and the progress is within the saved --epochs. A file edited or damaged
// so that they disagree would resume a different run from the one it claims to be. Throws
// std::runtime_error naming the training state beside `model_file` and the counters.
void check_counters(const TrainingState& state, int64_t steps_per_epoch,
                    const std::filesystem::path& model_file);

// The name in `net` of each of the optimizer's parameters, in PyTorch's numbering (group by
// group, in order). std::invalid_argument if one is not a parameter of net.
std::vector<std::string> parameter_names(const mg::optim::Optimizer& optimizer,
                                         mg::nn::Module& net);

}  // namespace train_mlp

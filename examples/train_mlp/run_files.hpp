// The files of a run other than the checkpoint (checkpoint.hpp), metrics and plots: the command
// line, the test set and one training step's graph.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <minigrad/minigrad.hpp>

#include "common/files.hpp"

namespace train_mlp {

// Writes `text` to `path` whole (atomically: the old file or the new one, never half of one);
// std::runtime_error naming the path and the OS's reason if it cannot.
using examples::write_text;

// --log-steps FILE: every step's loss appended as a line "epoch,step,loss". Each line goes to
// the file as it comes (a crash or a kill keeps every step logged so far), and every write is
// checked: std::runtime_error naming the file and the OS's reason when it cannot be opened or
// written.
class StepLog {
 public:
  explicit StepLog(const std::filesystem::path& path);
  StepLog(const StepLog&) = delete;
  StepLog& operator=(const StepLog&) = delete;
  ~StepLog();

  void append(std::string_view line);
  // Closes the file, reporting an error a file system may keep until then (NFS).
  void close();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// test_set.csv: the held-out points (x0, x1, label), so another tool (for example
// scripts/check_checkpoint_in_pytorch.py) can evaluate a checkpoint on exactly the same data.
void write_test_set_csv(const std::filesystem::path& path, const mg::data::Dataset& test);

// graph.dot: the graph of `loss` (one training step) in Graphviz DOT, before its backward, with
// the parameters labelled by their state_dict names ("0.weight", "1.bias", ...).
void write_graph_dot(const std::filesystem::path& path, const mg::Tensor& loss,
                     const mg::nn::NamedTensors<float>& parameters);

}  // namespace train_mlp

// The files of a run other than metrics and plots: the checkpoint with the metadata that says
// how to rebuild its network, the command line, and one training step's graph.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace train_mlp {

// What a train_mlp checkpoint records besides the weights.
struct CheckpointInfo {
  std::string dataset;
  int64_t classes = 0;
  std::vector<int64_t> hidden;
  bool batchnorm = true;
  int64_t epoch = 0;  // epochs trained
};

// mg::save with the info as metadata (atomic: a crash keeps the previous file whole).
void save_checkpoint(mg::nn::Module& net, const std::filesystem::path& path,
                     const CheckpointInfo& info);
// The info in a checkpoint's metadata, without loading it; throws std::runtime_error when the
// file was not written by train_mlp.
CheckpointInfo read_checkpoint_info(const std::filesystem::path& path);

// Writes `text` to `path` whole; std::runtime_error naming the path if it cannot.
void write_text(const std::filesystem::path& path, const std::string& text);

// command.txt: the command line, to run the same experiment again.
void write_command_txt(const std::filesystem::path& path, const std::string& command_line);

// test_set.csv: the held-out points (x0, x1, label), so another tool (for example
// scripts/check_checkpoint_in_pytorch.py) can evaluate a checkpoint on exactly the same data.
void write_test_set_csv(const std::filesystem::path& path, const mg::data::Dataset& test);

// graph.dot: the graph of `loss` (one training step) in Graphviz DOT, before its backward, with
// the parameters labelled by their state_dict names ("0.weight", "1.bias", ...).
void write_graph_dot(const std::filesystem::path& path, const mg::Tensor& loss,
                     const mg::nn::NamedTensors<float>& parameters);

}  // namespace train_mlp

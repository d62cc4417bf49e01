// The files of a run other than the checkpoint (checkpoint.hpp), metrics and plots: the command
// line, the test set and one training step's graph.
#pragma once

#include <filesystem>
#include <string>

#include <minigrad/minigrad.hpp>

namespace train_mlp {

// Writes `text` to `path` whole (atomically: the old file or the new one, never half of one);
// std::runtime_error naming the path if it cannot.
void write_text(const std::filesystem::path& path, const std::string& text);

// test_set.csv: the held-out points (x0, x1, label), so another tool (for example
// scripts/check_checkpoint_in_pytorch.py) can evaluate a checkpoint on exactly the same data.
void write_test_set_csv(const std::filesystem::path& path, const mg::data::Dataset& test);

// graph.dot: the graph of `loss` (one training step) in Graphviz DOT, before its backward, with
// the parameters labelled by their state_dict names ("0.weight", "1.bias", ...).
void write_graph_dot(const std::filesystem::path& path, const mg::Tensor& loss,
                     const mg::nn::NamedTensors<float>& parameters);

}  // namespace train_mlp

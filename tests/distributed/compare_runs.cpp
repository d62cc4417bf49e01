// compare_runs DIR_A DIR_B TOLERANCE: two train_mlp output folders trained the same way, e.g.
// one process with batch 2B against `mpirun -np 2` with batch B and SyncBatchNorm1d. Compares
// the loss of every step (steps.csv) and every value of model.safetensors, prints the worst
// relative difference of each (|a - b| / max(1, |b|)), and fails when one exceeds TOLERANCE or
// the runs do not have the same steps and tensors.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "core/safetensors.hpp"

namespace {

std::vector<double> step_losses(const std::string& dir) {
  std::ifstream in(dir + "/steps.csv");
  if (!in) throw std::runtime_error("cannot read " + dir + "/steps.csv");
  std::vector<double> losses;
  std::string line;
  std::getline(in, line);  // header: epoch,step,loss
  while (std::getline(in, line)) losses.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  return losses;
}

double rel(double a, double b) {
  return std::abs(a - b) / std::max(1.0, std::abs(b));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: compare_runs DIR_A DIR_B TOLERANCE\n");
    return 2;
  }
  const std::string a = argv[1], b = argv[2];
  const double tolerance = std::atof(argv[3]);
  const std::vector<double> la = step_losses(a), lb = step_losses(b);
  if (la.size() != lb.size() || la.empty()) {
    fmt::print("different runs: {} steps in {}, {} in {}\n", la.size(), a, lb.size(), b);
    return 1;
  }
  double worst_loss = 0;
  for (std::size_t i = 0; i < la.size(); ++i) worst_loss = std::max(worst_loss, rel(la[i], lb[i]));
  const mg::safetensors::File fa = mg::safetensors::read_file(a + "/model.safetensors");
  const mg::safetensors::File fb = mg::safetensors::read_file(b + "/model.safetensors");
  if (fa.tensors.size() != fb.tensors.size()) {
    fmt::print("different models: {} and {} tensors\n", fa.tensors.size(), fb.tensors.size());
    return 1;
  }
  double worst_param = 0;
  for (std::size_t t = 0; t < fa.tensors.size(); ++t) {
    const auto &ea = fa.tensors[t], &eb = fb.tensors[t];
    if (ea.name != eb.name || ea.shape != eb.shape || ea.dtype != eb.dtype) {
      fmt::print("different tensors: {} and {}\n", ea.name, eb.name);
      return 1;
    }
    if (ea.dtype == mg::safetensors::Dtype::I64) {
      if (ea.data != eb.data) {
        fmt::print("{} differs\n", ea.name);
        return 1;
      }
      continue;
    }
    const std::size_t n = ea.data.size() / sizeof(float);
    std::vector<float> va(n), vb(n);
    std::memcpy(va.data(), ea.data.data(), n * sizeof(float));
    std::memcpy(vb.data(), eb.data.data(), n * sizeof(float));
    for (std::size_t i = 0; i < n; ++i) worst_param = std::max(worst_param, rel(va[i], vb[i]));
  }
  fmt::print("{} steps: worst loss difference {:.2e}; {} tensors: worst parameter difference "
             "{:.2e} (tolerance {:.0e})\n",
             la.size(), worst_loss, fa.tensors.size(), worst_param, tolerance);
  return worst_loss <= tolerance && worst_param <= tolerance ? 0 : 1;
}

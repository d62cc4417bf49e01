#include "data_parallel.hpp"

#include <vector>

namespace train_mlp {

Replica replica() {
  return {mg::dist::rank(), mg::dist::world_size()};
}

void start_replicas(mg::nn::Sequential& net, bool sync_bn) {
  if (sync_bn) mg::nn::convert_sync_batchnorm(net);
  mg::dist::broadcast_parameters(net, 0);
}

double mean_over_ranks(double value) {
  std::vector<double> v = {value};
  mg::dist::all_reduce_sum(v);
  return v[0] / mg::dist::world_size();
}

bool replicas_identical(mg::nn::Sequential& net) {
  std::vector<float> mine;  // every parameter and tensor buffer, flattened
  for (const auto& [name, p] : net.named_parameters())
    mine.insert(mine.end(), p.data(), p.data() + p.numel());
  for (mg::nn::BufferRef<float>& b : net.named_buffers())
    if (!b.count) mine.insert(mine.end(), b.tensor.data(), b.tensor.data() + b.tensor.numel());
  std::vector<float> root = mine;
  mg::dist::broadcast(root, 0);
  std::vector<double> differing = {root == mine ? 0.0 : 1.0};
  mg::dist::all_reduce_sum(differing);
  return differing[0] == 0;
}

}  // namespace train_mlp

// train_mlp as one of P processes (`mpirun -np P train_mlp ...`, docs/distributed.md): every
// rank builds the same network, takes its shard of each epoch (the DataLoader's num_replicas and
// rank), and averages gradients after each backward, so all ranks step identically. Rank 0 alone
// prints and writes files. --batch-size is the batch of each process; one step sees P of them.
#pragma once

#include <minigrad/minigrad.hpp>

namespace train_mlp {

// This process's place: rank 0 of 1 outside mpirun.
struct Replica {
  int rank = 0;
  int world = 1;
  bool root() const { return rank == 0; }
};
Replica replica();

// With sync_bn, every BatchNorm1d of `net` becomes a SyncBatchNorm1d; then every rank takes
// rank 0's parameters and buffers (they are equal already when built from the same seed; a
// resumed run loads the same files everywhere).
void start_replicas(mg::nn::Sequential& net, bool sync_bn);

// The mean over the ranks of a per-rank value: the loss of the whole step, for printing.
double mean_over_ranks(double value);

// Whether every rank's parameters and buffers are bit-identical to rank 0's (the same answer on
// every rank). train_mlp checks it at the end of a data-parallel run.
bool replicas_identical(mg::nn::Sequential& net);

}  // namespace train_mlp

// Data parallelism on whole modules: the two steps a training loop adds to run on P processes
// (core/distributed.hpp has the collectives they use, docs/distributed.md the whole scheme).
//
//   mg::dist::InitGuard mpi(argc, argv);
//   Sequential model = build();            // same seed everywhere, and then, to be sure:
//   mg::dist::broadcast_parameters(model); // every rank starts from rank 0's values
//   for (batch : this rank's shard) {
//     loss = criterion(model(batch.x), batch.y);  // the mean over this rank's rows
//     optimizer.zero_grad(); loss.backward();
//     mg::dist::average_gradients(model);  // every rank: the mean of the ranks' gradients
//     optimizer.step();                    // identical updates, so the copies stay identical
//   }
//
// With equal slices, the mean of the ranks' mean-loss gradients is the gradient of the mean loss
// over the whole batch: P processes with batch B step exactly as one process with batch P * B,
// except for BatchNorm1d's statistics, which SyncBatchNorm1d makes whole-batch too.
//
// They take a Module, so they live here in layers/ (core/ knows no modules) and are declared in
// mg::nn; the using-declarations below also give them the names mg::dist::broadcast_parameters
// and mg::dist::average_gradients, beside the collectives.
#pragma once

#include "layers/module.hpp"

namespace mg::nn {

// Every parameter, tensor buffer and counter (num_batches_tracked) of `model` takes root's value
// on every rank: one broadcast of all the tensors flattened together, one of the counters.
template <typename T>
void broadcast_parameters(BasicModule<T>& model, int root = 0);

// Every parameter's .grad() becomes the mean over the ranks of its .grad(): all gradients are
// copied into one flat buffer (kept between calls), summed across ranks by a single all-reduce,
// divided by the number of ranks and copied back. A parameter that has no .grad() on a rank
// counts as zeros there; it gets a .grad() if any rank had one (as a flag summed in the same
// all-reduce), so every rank ends with the same gradients. A world of one changes nothing.
template <typename T>
void average_gradients(BasicModule<T>& model);

}  // namespace mg::nn

namespace mg::dist {
using nn::average_gradients;
using nn::broadcast_parameters;
}  // namespace mg::dist

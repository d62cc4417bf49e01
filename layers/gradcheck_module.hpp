// gradcheck for a whole module, stateful ones included (BatchNorm1d in training mode updates
// running_mean, running_var and num_batches_tracked on every forward).
//
// It checks d(sum(module(input) * dy)) / d(input) and / d(every named parameter) with a random
// upstream dy (mg::gradcheck, core/gradcheck.hpp). Before the check it snapshots every buffer of
// the module and its children, tensors and int64 counters alike; every forward (the analytic one
// and each numeric probe) starts from that snapshot, and the module is left as it was found.
// Without this, the probes would advance the statistics and the counter (PyTorch's gradcheck on
// a BatchNorm in training mode leaves num_batches_tracked at 50).
//
// A stochastic module is checked the same way: the state of every generator it draws from
// (named_generators(), Dropout's mask) is saved before the first forward and restored before
// each one, so every probe sees the same mask, and is put back at the end. Without this, each
// probe would draw a new mask and the check would compare gradients of different functions
// (a worst relative error near 1, with nothing wrong in the backward).
#pragma once

#include "core/gradcheck.hpp"
#include "layers/module.hpp"

namespace mg::nn {

// `input` must be a leaf; options.state is ignored (all buffers are restored anyway).
GradcheckResult gradcheck_module(BasicModule<double>& module, const TensorD& input,
                                 const GradcheckOptions& options = {});

}  // namespace mg::nn

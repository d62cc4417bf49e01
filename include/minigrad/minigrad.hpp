// The whole public API of minigrad: core/ (namespace mg), layers/ (mg::nn), optim/ (mg::optim).
// An installed consumer writes
//   find_package(minigrad)  +  target_link_libraries(app PRIVATE minigrad::minigrad)
// and then `#include <minigrad/minigrad.hpp>`. It lives above the three folders because it
// includes all of them; no file inside them includes it.
#pragma once

#include "core/allocator.hpp"
#include "core/autograd.hpp"
#include "core/data.hpp"
#include "core/distributed.hpp"
#include "core/dot.hpp"
#include "core/error.hpp"
#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "core/safetensors.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/checkpoint.hpp"
#include "layers/data_parallel.hpp"
#include "layers/gradcheck_module.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/module.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "layers/sync_batchnorm1d.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/optimizer.hpp"
#include "optim/sgd.hpp"

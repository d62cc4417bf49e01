// SavedTensor: a value an op's forward keeps for its backward, and the check that it is still
// the forward's value when the backward reads it.
//
// A backward reads the *current* values of what it kept. If something wrote them in between
// (an optimizer step before loss.backward(), a DataLoader refilling the batch a graph was built
// on, a write through data()), the gradient would silently be computed from other numbers. So
// the forward wraps what its backward will read in a SavedTensor, which records the values'
// version (BasicTensor::version(), one counter per buffer, moved by every write), and the
// backward reads them through get(), which throws VersionError if the version moved. The
// engine adds the op's name to the message.
//
// Save only what the backward reads, and read it only for the gradients it is needed for: that
// is what decides when a write is an error. `mul` saves a and b, but reads b only for a's
// gradient, so writing b is an error only if a required grad; `add` saves nothing, so writing
// its inputs never is (both as in PyTorch).
#pragma once

#include <cstdint>
#include <utility>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace mg {

template <typename T>
class SavedTensor {
 public:
  // Saves `t` at its current version. For an op's own output, pass y.detach(): the backward
  // must not hold the output's handle (the node would own itself).
  explicit SavedTensor(BasicTensor<T> t) : tensor_(std::move(t)), version_(tensor_.version()) {}

  // The saved tensor, read-only; VersionError if its values were written since it was saved.
  const BasicTensor<T>& get() const {
    if (tensor_.version() != version_) {
      fail<VersionError>(
          "one of the tensors needed for gradient computation, of shape {}, was modified after "
          "the forward: it was saved at version {} and is now at version {}. Call backward() "
          "before changing it (an optimizer step, load_state_dict, reset_parameters, the next "
          "DataLoader batch, a write through data()/flat()/matrix()), or give the forward a "
          "clone(); to read values without writing, use a const tensor",
          tensor_.shape(), version_, tensor_.version());
    }
    return tensor_;
  }

 private:
  BasicTensor<T> tensor_;
  uint64_t version_;
};

}  // namespace mg

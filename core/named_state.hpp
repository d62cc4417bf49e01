// NamedState: the state of an optimizer, a learning-rate schedule or a random generator as flat
// named values, ready for a safetensors file (core/safetensors.hpp), which runs no code on load.
//
// Names follow PyTorch's state_dict(), its nesting written with dots, as a module's are:
//   SGD      "state.0.momentum_buffer"  tensor   (the buffer of parameter 0, counted over groups)
//            "param_groups.0.lr"        real
//            "param_groups.0.nesterov"  integer  (0 or 1)
//   schedule "last_epoch", "base_lrs.0" ...
// Several states share one file under prefixes: insert("optimizer", sgd.state_dict()), and
// extract("optimizer") to read it back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/safetensors.hpp"
#include "core/tensor.hpp"

namespace mg {

struct NamedState {
  std::map<std::string, Tensor> tensors;    // float32 arrays: momentum buffers, Adam's moments
  std::map<std::string, double> reals;      // lr, momentum, base_lrs.0, ...
  std::map<std::string, int64_t> integers;  // last_epoch, step counts, flags as 0 / 1

  bool contains(const std::string& key) const;
  // Adds every entry of `other` as "prefix.key"; std::invalid_argument if a name is taken.
  void insert(const std::string& prefix, const NamedState& other);
  // The entries named "prefix.key", as "key".
  NamedState extract(const std::string& prefix) const;

  // For a load_state_dict: std::invalid_argument unless the names are exactly `keys`, listing
  // both differences: "SGD: load_state_dict: missing keys [a], unexpected keys [b]".
  void require_keys(std::string_view owner, const std::vector<std::string>& keys) const;
  // Lookups for a load_state_dict: std::invalid_argument naming `owner` ("SGD") if the key is
  // missing: "SGD: load_state_dict: expected a real 'param_groups.0.lr', missing".
  const Tensor& tensor(std::string_view owner, const std::string& key) const;
  double real(std::string_view owner, const std::string& key) const;
  int64_t integer(std::string_view owner, const std::string& key) const;
};

// Tensors as F32 arrays, reals as F64 scalars (shape []), integers as I64 scalars. The entry
// names are the keys; the order is tensors, reals, integers, each by name.
safetensors::File to_safetensors(const NamedState& state);
// The inverse; CheckpointError for an entry that is none of the three (an F32 scalar, an F64
// array, ...), naming it.
NamedState from_safetensors(const safetensors::File& file);

}  // namespace mg

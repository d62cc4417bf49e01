// Module: the one base class of every layer. One level deep: each layer, Sequential included,
// derives from it directly, never from another layer.
//
// A layer says what it holds in plain code, by overriding three small functions:
//   own_parameters()  its trainable tensors, by name       {"weight", w}, {"bias", b}
//   own_buffers()     its non-trainable state, by name     {"running_mean", ...}, counters
//   children()        its sub-modules, by name             {"0", &first}, {"1", &second}
//   own_generators()  the generators its forward draws from {"generator", &gen} (Dropout)
// and the base class derives the rest (recursion, dotted names, modes, state_dict) from those.
// Names follow PyTorch, so a state_dict maps one to one onto a PyTorch model's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.hpp"

namespace mg::nn {

// A named non-trainable value: a tensor (running_mean) or an int64 counter
// (num_batches_tracked, an int64 in PyTorch too).
template <typename T>
struct BufferRef {
  std::string name;
  BasicTensor<T> tensor;     // defined for a tensor buffer
  int64_t* count = nullptr;  // non-null for a counter
};

// One state_dict value: a tensor (shared with the module, not a copy) or a counter's value.
template <typename T>
using StateValue = std::variant<BasicTensor<T>, int64_t>;

template <typename T>
using StateDict = std::vector<std::pair<std::string, StateValue<T>>>;

template <typename T>
using NamedTensors = std::vector<std::pair<std::string, BasicTensor<T>>>;

template <typename T>
class BasicModule {
 public:
  virtual ~BasicModule() = default;
  BasicModule() = default;
  BasicModule(BasicModule&&) noexcept = default;
  BasicModule& operator=(BasicModule&&) noexcept = default;
  BasicModule(const BasicModule&) = delete;
  BasicModule& operator=(const BasicModule&) = delete;

  virtual BasicTensor<T> forward(const BasicTensor<T>& x) = 0;
  BasicTensor<T> operator()(const BasicTensor<T>& x) { return forward(x); }
  // "Linear(in_features=2, out_features=64, bias=true)", as PyTorch prints it.
  virtual std::string repr() const = 0;

  // ---- what a layer declares ----
  virtual NamedTensors<T> own_parameters() { return {}; }
  virtual std::vector<BufferRef<T>> own_buffers() { return {}; }
  virtual std::vector<std::pair<std::string, BasicModule*>> children() { return {}; }
  // A stochastic layer's generators, so that gradcheck_module can replay its randomness and a
  // training state can save it. Not owned: several layers may share one (default_generator()).
  virtual std::vector<std::pair<std::string, Generator*>> own_generators() { return {}; }

  // ---- derived by the base class ----
  // This module's and its children's parameters, with dotted names ("0.weight", "1.bias"). A
  // tensor shared by several modules (tied weights) appears once, under the first name.
  NamedTensors<T> named_parameters();
  std::vector<BasicTensor<T>> parameters();
  std::vector<BufferRef<T>> named_buffers();  // dotted names, recursive, each buffer once
  // Dotted names, recursive; a generator shared by several layers appears once per layer.
  std::vector<std::pair<std::string, Generator*>> named_generators();
  // Parameters then buffers, module by module, in PyTorch's order and with its key names. A
  // shared tensor appears under each of its names, as in PyTorch.
  StateDict<T> state_dict();
  // Checks everything first (missing and unexpected keys, shapes, kinds), then copies; on any
  // error it throws std::invalid_argument and the module is unchanged.
  void load_state_dict(const StateDict<T>& state);

  // Training mode (batch statistics in BatchNorm) or evaluation mode; recursive.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Clears (zero-fills) every parameter's .grad().
  void zero_grad();

 private:
  bool training_ = true;
};

extern template class BasicModule<float>;
extern template class BasicModule<double>;
using Module = BasicModule<float>;

}  // namespace mg::nn

// Tensor: a handle to a node of the autograd graph.
//
// A tensor owns (shares) a contiguous row-major buffer of T and a shape of rank 1 to 3. When it
// is the output of an op that saw an input requiring grad, its node also records the op's name,
// its inputs (the graph's edges, always from an output to its inputs) and its backward function.
// `loss.backward()` (core/autograd.cpp) walks those edges in reverse.
//
// The class is a template on the scalar so that the *same* op and layer code runs in float32 for
// training and in float64 for gradient checks; users write `mg::Tensor` (float).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "core/shape.hpp"

namespace mg {

class Generator;
template <typename T>
class BasicTensor;

// The backward of one op: reads dy (the gradient of the loss with respect to the op's output)
// and *adds* each input's gradient into that input (`in[0].grad_flat() += ...`). The inputs are
// const: a backward writes gradients, never values. The values it needs from the forward it
// reads from SavedTensors it captured (core/saved_tensor.hpp), which check that nothing changed
// them since. It must not capture the op's output tensor (that would be a cycle); it may
// capture a detach()ed alias.
template <typename T>
using BackwardFn =
    std::function<void(const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in)>;

namespace detail {

// A block of T from the caching allocator (core/allocator.hpp). Views share it via shared_ptr.
template <typename T>
struct Buffer {
  explicit Buffer(int64_t n);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* ptr;
  int64_t size;
  // Counts the writes to these values: every non-const data()/flat()/matrix() adds one (so do
  // the optimizers, load_state_dict, reset_*, BatchNorm's running statistics and the DataLoader,
  // which all write through them). One counter per buffer, so views and detach()ed aliases share
  // it. A SavedTensor compares it with the count it saw at the forward.
  uint64_t version = 0;
};

template <typename T>
struct Node {
  Shape shape;
  std::shared_ptr<Buffer<T>> data;
  // .grad(): a leaf's gradient, accumulated over backward calls, or a retained non-leaf's (the
  // sum over the passes that reached it). Null until a gradient arrives.
  std::shared_ptr<Node> grad;
  // A non-leaf's gradient within the running backward pass only: what its consumers sent back
  // in this pass, and what its backward passes on. Null outside a pass.
  std::shared_ptr<Node> pass_grad;
  bool requires_grad = false;
  bool retains_grad = false;  // keep .grad() on a non-leaf after backward
  const char* op = nullptr;   // the op that made this tensor; null for a leaf
  std::vector<BasicTensor<T>> inputs;
  // input_requires_grad[i]: inputs[i] required grad when the op ran. An input that did not gets
  // no gradient from this op, even if set_requires_grad(true) is called on it later.
  std::vector<bool> input_requires_grad;
  BackwardFn<T> backward;
  bool graph_freed = false;  // backward ran without retain_graph; inputs/backward released
  // Where a backward adds this tensor's gradient: a leaf's .grad(), a non-leaf's pass_grad.
  std::shared_ptr<Node>& grad_target() { return op ? pass_grad : grad; }
  ~Node();
};

}  // namespace detail

template <typename T>
class BasicTensor {
 public:
  using Scalar = T;
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  using MatrixMap = Eigen::Map<Matrix>;
  using ConstMatrixMap = Eigen::Map<const Matrix>;
  using ArrayMap = Eigen::Map<Array>;
  using ConstArrayMap = Eigen::Map<const Array>;

  BasicTensor() = default;  // an undefined tensor (like an empty `.grad()`)

  // ---- construction ----
  static BasicTensor empty(const Shape& shape);  // uninitialised values
  static BasicTensor zeros(const Shape& shape, bool requires_grad = false);
  static BasicTensor full(const Shape& shape, T value, bool requires_grad = false);
  static BasicTensor from_vector(const std::vector<T>& values, const Shape& shape,
                                 bool requires_grad = false);
  static BasicTensor randn(const Shape& shape, Generator& gen, bool requires_grad = false);
  static BasicTensor uniform(const Shape& shape, T lo, T hi, Generator& gen,
                             bool requires_grad = false);

  // ---- values ----
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const;
  int rank() const { return shape().rank(); }
  // The size of dimension `dim`, counted from the end when negative (size(-1) is the last), as
  // PyTorch's; ShapeError outside [-rank, rank).
  int64_t size(int dim) const;
  int64_t numel() const { return shape().numel(); }
  // The non-const accessors are the way to write values, so each call counts as a write: it adds
  // one to the version of the values (see version()). To only read, use a const tensor
  // (std::as_const(t).flat()), to_vector(), at() or item(), which leave the version alone. A
  // pointer from data() should be taken right before the write, not kept across a forward.
  T* data();
  const T* data() const;
  ArrayMap flat() { return ArrayMap(data(), numel()); }
  ConstArrayMap flat() const { return ConstArrayMap(data(), numel()); }
  // The values as a row-major matrix: (N, C) as is, (N, C, L) as (N, C*L), (n) as (1, n).
  MatrixMap matrix();
  ConstMatrixMap matrix() const;
  // How many times the values have been written through a non-const accessor (shared by every
  // view of the same values). A backward that finds a saved tensor at another version than at
  // its forward throws VersionError instead of using the changed values.
  uint64_t version() const;
  std::vector<T> to_vector() const;
  T item() const;  // the single value of a one-element tensor
  T at(int64_t i) const;
  T at(int64_t i, int64_t j) const;
  T at(int64_t i, int64_t j, int64_t k) const;
  BasicTensor clone() const;  // a new leaf with a copy of the values

  // ---- autograd ----
  bool requires_grad() const;
  BasicTensor& set_requires_grad(bool requires_grad);  // leaves only
  bool is_leaf() const;
  const char* op() const;    // "" for a leaf
  BasicTensor grad() const;  // undefined until a backward reaches this tensor
  void zero_grad();          // fills an existing .grad() with zeros (its memory is kept)
  void clear_grad();         // drops .grad()
  void retain_grad();        // keep .grad() on this non-leaf after backward
  // Gradient of this tensor with respect to its graph's leaves. `grad` is dL/d(this); it may be
  // omitted for a one-element tensor (then 1). Without retain_graph the graph is freed.
  void backward(const BasicTensor& grad = {}, bool retain_graph = false) const;
  BasicTensor detach() const;                      // same values (shared), no graph
  BasicTensor alias(const Shape& shape) const;     // same values (shared) seen with another shape
  const std::vector<BasicTensor>& inputs() const;  // the graph's edges (to_dot, tests)
  bool same_as(const BasicTensor& other) const { return node_ == other.node_; }
  // The node's address: equal for handles of the same tensor; a key for graph walks (to_dot).
  const void* id() const { return node_.get(); }

  // ---- for op and layer authors ----
  // Records this tensor as the output of `op` on `inputs`, with its backward. Call it after the
  // output's values are computed: in anomaly mode it checks them for NaN/Inf. Records nothing
  // under NoGradGuard or when no input requires grad.
  void set_grad_fn(const char* op, std::vector<BasicTensor> inputs, BackwardFn<T> backward);
  // The gradient buffer, created as zeros on first use, to accumulate into in a backward. These
  // are const (a backward's inputs are): they write the gradient, never the tensor's values.
  ArrayMap grad_flat() const;
  MatrixMap grad_matrix() const;
  // For a kernel that writes every element of the gradient in one pass: the buffer, and whether
  // to add into it (it holds earlier contributions) or assign (it was just created and is
  // uninitialised). Saves grad_flat()'s zero-fill, and the read of those zeros, on a fresh one.
  struct GradBuffer {
    T* data;
    bool accumulate;
  };
  GradBuffer grad_buffer() const;

 private:
  explicit BasicTensor(std::shared_ptr<detail::Node<T>> node) : node_(std::move(node)) {}
  detail::Node<T>& node() const;
  detail::Node<T>& grad_node() const;

  std::shared_ptr<detail::Node<T>> node_;

  friend struct detail::Node<T>;
  template <typename U>
  friend void run_backward(const BasicTensor<U>&, const BasicTensor<U>&, bool);
};

using Tensor = BasicTensor<float>;
using TensorD = BasicTensor<double>;

// Every op and layer calls this first on its tensor arguments, so that an undefined
// (default-constructed) one is reported by the call that received it: throws
// std::invalid_argument "OP: expected a defined tensor as WHAT, got an undefined
// (default-constructed) one".
template <typename T>
void require_defined(const char* op, const BasicTensor<T>& t, const char* what = "input");

extern template class BasicTensor<float>;
extern template class BasicTensor<double>;

}  // namespace mg

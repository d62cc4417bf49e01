#include "core/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/allocator.hpp"
#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"

namespace mg {
namespace detail {

// The buffer's byte count, numel * sizeof(T), must fit std::ptrdiff_t (as PyTorch's storage size
// must fit int64_t): a larger count would wrap around and allocate a block too small for it.
template <typename T>
std::shared_ptr<Node<T>> make_node(const Shape& shape) {
  constexpr int64_t kMaxElements = PTRDIFF_MAX / static_cast<int64_t>(sizeof(T));
  if (shape.numel() > kMaxElements) {
    fail<ShapeError>(
        "Tensor: expected at most {} elements of {} bytes (2^63 - 1 bytes), got shape {}",
        kMaxElements, sizeof(T), shape);
  }
  auto node = std::make_shared<Node<T>>();
  node->shape = shape;
  node->data = std::make_shared<Buffer<T>>(shape.numel());
  return node;
}

}  // namespace detail

template <typename T>
detail::Node<T>& BasicTensor<T>::node() const {
  if (!node_) throw std::logic_error("Tensor: this tensor is undefined (default-constructed)");
  return *node_;
}

// ---- construction ----

template <typename T>
BasicTensor<T> BasicTensor<T>::empty(const Shape& shape) {
  if (shape.rank() == 0) fail<ShapeError>("Tensor: expected a shape of rank 1 to 3, got rank 0");
  return BasicTensor(detail::make_node<T>(shape));
}

template <typename T>
BasicTensor<T> BasicTensor<T>::full(const Shape& shape, T value, bool requires_grad) {
  BasicTensor t = empty(shape);
  std::fill_n(t.node_->data->ptr, t.numel(), value);  // a new tensor starts at version 0
  t.node_->requires_grad = requires_grad;
  return t;
}

template <typename T>
BasicTensor<T> BasicTensor<T>::zeros(const Shape& shape, bool requires_grad) {
  return full(shape, T(0), requires_grad);
}

template <typename T>
BasicTensor<T> BasicTensor<T>::from_vector(const std::vector<T>& values, const Shape& shape,
                                           bool requires_grad) {
  if (static_cast<int64_t>(values.size()) != shape.numel()) {
    fail<ShapeError>("Tensor::from_vector: expected {} values for shape {}, got {}", shape.numel(),
                     shape, values.size());
  }
  BasicTensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.node_->data->ptr);
  t.node_->requires_grad = requires_grad;
  return t;
}

template <typename T>
BasicTensor<T> BasicTensor<T>::randn(const Shape& shape, Generator& gen, bool requires_grad) {
  BasicTensor t = empty(shape);
  for (T& v : std::span(t.node_->data->ptr, t.numel())) v = static_cast<T>(gen.normal());
  t.node_->requires_grad = requires_grad;
  return t;
}

template <typename T>
BasicTensor<T> BasicTensor<T>::uniform(const Shape& shape, T lo, T hi, Generator& gen,
                                       bool requires_grad) {
  BasicTensor t = empty(shape);
  for (T& v : std::span(t.node_->data->ptr, t.numel())) v = static_cast<T>(gen.uniform(lo, hi));
  t.node_->requires_grad = requires_grad;
  return t;
}

// ---- values ----

template <typename T>
const Shape& BasicTensor<T>::shape() const {
  return node().shape;
}

template <typename T>
T* BasicTensor<T>::data() {
  detail::Buffer<T>& values = *node().data;
  ++values.version;  // the caller may write through the pointer
  return values.ptr;
}

template <typename T>
const T* BasicTensor<T>::data() const {
  return node().data->ptr;
}

namespace {
// (N, C) -> (N, C); (N, C, L) -> (N, C*L); (n) -> (1, n).
std::pair<int64_t, int64_t> matrix_dims(const Shape& s) {
  if (s.rank() == 1) return {1, s[0]};
  int64_t cols = 1;
  for (int d = 1; d < s.rank(); ++d) cols *= s[d];
  return {s[0], cols};
}
}  // namespace

template <typename T>
uint64_t BasicTensor<T>::version() const {
  return node().data->version;
}

template <typename T>
typename BasicTensor<T>::MatrixMap BasicTensor<T>::matrix() {
  auto [rows, cols] = matrix_dims(shape());
  return MatrixMap(data(), rows, cols);
}

template <typename T>
typename BasicTensor<T>::ConstMatrixMap BasicTensor<T>::matrix() const {
  auto [rows, cols] = matrix_dims(shape());
  return ConstMatrixMap(data(), rows, cols);
}

template <typename T>
std::vector<T> BasicTensor<T>::to_vector() const {
  return std::vector<T>(data(), data() + numel());
}

template <typename T>
T BasicTensor<T>::item() const {
  if (numel() != 1) {
    fail<ShapeError>("item: expected a tensor with one element, got shape {}", shape());
  }
  return data()[0];
}

namespace {
void check_index(const Shape& s, std::initializer_list<int64_t> index) {
  if (static_cast<int>(index.size()) != s.rank()) {
    fail<ShapeError>("at: expected {} indices for shape {}, got {}", s.rank(), s, index.size());
  }
  int d = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= s[d])
      fail<ShapeError>("at: index {} out of range for dim {} of shape {}", i, d, s);
    ++d;
  }
}
}  // namespace

template <typename T>
T BasicTensor<T>::at(int64_t i) const {
  check_index(shape(), {i});
  return data()[i];
}

template <typename T>
T BasicTensor<T>::at(int64_t i, int64_t j) const {
  check_index(shape(), {i, j});
  return data()[i * size(1) + j];
}

template <typename T>
T BasicTensor<T>::at(int64_t i, int64_t j, int64_t k) const {
  check_index(shape(), {i, j, k});
  return data()[(i * size(1) + j) * size(2) + k];
}

template <typename T>
BasicTensor<T> BasicTensor<T>::clone() const {
  BasicTensor t = empty(shape());
  std::copy_n(data(), numel(), t.node_->data->ptr);
  return t;
}

// ---- autograd ----

template <typename T>
bool BasicTensor<T>::requires_grad() const {
  return node().requires_grad;
}

template <typename T>
BasicTensor<T>& BasicTensor<T>::set_requires_grad(bool requires_grad) {
  if (!is_leaf()) {
    fail<GraphError>(
        "set_requires_grad: expected a leaf tensor, got the output of '{}'; "
        "use detach() to make a leaf",
        op());
  }
  node().requires_grad = requires_grad;
  return *this;
}

template <typename T>
bool BasicTensor<T>::is_leaf() const {
  return node().op == nullptr;
}

template <typename T>
const char* BasicTensor<T>::op() const {
  return node().op ? node().op : "";
}

template <typename T>
BasicTensor<T> BasicTensor<T>::grad() const {
  return BasicTensor(node().grad);
}

template <typename T>
void BasicTensor<T>::zero_grad() {
  if (!node().grad) return;
  T* g = grad().data();
  parallel_ranges(numel(), [g](int64_t k0, int64_t k1) { std::fill(g + k0, g + k1, T(0)); });
}

template <typename T>
void BasicTensor<T>::clear_grad() {
  node().grad.reset();
}

template <typename T>
void BasicTensor<T>::retain_grad() {
  // As in PyTorch: no gradient ever reaches a tensor that does not require grad, so asking to
  // keep one is a mistake to report, not a request to ignore (its .grad() would stay undefined).
  if (!requires_grad()) {
    fail<GraphError>(
        "retain_grad: expected a tensor that requires grad, got one of shape {} with "
        "requires_grad = false (made under NoGradGuard, or from inputs that need no gradient)",
        shape());
  }
  node().retains_grad = true;
}

template <typename T>
void BasicTensor<T>::backward(const BasicTensor& grad, bool retain_graph) const {
  run_backward(*this, grad, retain_graph);
}

template <typename T>
int64_t BasicTensor<T>::size(int dim) const {
  const Shape& s = shape();
  if (dim < -s.rank() || dim >= s.rank()) {
    fail<ShapeError>("size: expected dim in [{}, {}] for a tensor of shape {}, got {}", -s.rank(),
                     s.rank() - 1, s, dim);
  }
  return s[dim < 0 ? dim + s.rank() : dim];
}

template <typename T>
BasicTensor<T> BasicTensor<T>::detach() const {
  return alias(shape());
}

template <typename T>
BasicTensor<T> BasicTensor<T>::alias(const Shape& shape) const {
  if (shape.numel() != numel()) {
    fail<ShapeError>("alias: expected a shape with {} elements like {}, got {} ({} elements)",
                     numel(), this->shape(), shape, shape.numel());
  }
  auto node = std::make_shared<detail::Node<T>>();
  node->shape = shape;
  node->data = this->node().data;
  return BasicTensor(std::move(node));
}

template <typename T>
const std::vector<BasicTensor<T>>& BasicTensor<T>::inputs() const {
  return node().inputs;
}

template <typename T>
void BasicTensor<T>::set_grad_fn(const char* op, std::vector<BasicTensor> inputs,
                                 BackwardFn<T> backward) {
  if (is_anomaly_enabled()) check_finite_output(op, *this, inputs);
  if (!records_graph(inputs)) return;
  detail::Node<T>& n = node();
  n.op = op;
  n.requires_grad = true;
  n.input_requires_grad.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) n.input_requires_grad[i] = inputs[i].requires_grad();
  n.inputs = std::move(inputs);
  n.backward = std::move(backward);
}

// The gradient a backward adds into: a leaf's .grad(), or a non-leaf's gradient for the running
// pass (core/autograd.cpp). Adding into it is a write, so its version moves too.
template <typename T>
detail::Node<T>& BasicTensor<T>::grad_node() const {
  std::shared_ptr<detail::Node<T>>& g = node().grad_target();
  if (!g) {
    g = detail::make_node<T>(node().shape);
    std::fill_n(g->data->ptr, g->shape.numel(), T(0));
  }
  ++g->data->version;
  return *g;
}

template <typename T>
typename BasicTensor<T>::ArrayMap BasicTensor<T>::grad_flat() const {
  detail::Node<T>& g = grad_node();
  return ArrayMap(g.data->ptr, g.shape.numel());
}

template <typename T>
typename BasicTensor<T>::GradBuffer BasicTensor<T>::grad_buffer() const {
  std::shared_ptr<detail::Node<T>>& g = node().grad_target();
  if (g) {
    ++g->data->version;
    return {g->data->ptr, true};
  }
  g = detail::make_node<T>(node().shape);
  return {g->data->ptr, false};
}

template <typename T>
typename BasicTensor<T>::MatrixMap BasicTensor<T>::grad_matrix() const {
  detail::Node<T>& g = grad_node();
  auto [rows, cols] = matrix_dims(g.shape);
  return MatrixMap(g.data->ptr, rows, cols);
}

template class BasicTensor<float>;
template class BasicTensor<double>;

template <typename T>
void require_defined(const char* op, const BasicTensor<T>& t, const char* what) {
  if (!t.defined()) {
    fail<std::invalid_argument>(
        "{}: expected a defined tensor as {}, got an undefined (default-constructed) one", op,
        what);
  }
}
template void require_defined(const char*, const BasicTensor<float>&, const char*);
template void require_defined(const char*, const BasicTensor<double>&, const char*);

}  // namespace mg

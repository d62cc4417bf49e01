// Primitive ops. Each is a free function that computes its output and records its backward
// directly below the forward, in the same .cpp (ops_binary.cpp, ops_unary.cpp, ops_reduce.cpp,
// ops_linalg.cpp). All are templates on the scalar, instantiated for float and double.
#pragma once

#include "core/tensor.hpp"

namespace mg {

// ---- binary, with broadcasting (ops_binary.cpp) ----
// Shapes broadcast as in NumPy/PyTorch: aligned from the last dim, a dim of size 1 (or a missing
// leading dim) stretches. The common cases: the same shape, and a (C) vector over the rows of an
// (N, C) matrix. The gradient of a stretched operand is summed over the stretched dims.
template <typename T>
BasicTensor<T> add(const BasicTensor<T>& a, const BasicTensor<T>& b);
template <typename T>
BasicTensor<T> sub(const BasicTensor<T>& a, const BasicTensor<T>& b);
template <typename T>
BasicTensor<T> mul(const BasicTensor<T>& a, const BasicTensor<T>& b);
template <typename T>
BasicTensor<T> div(const BasicTensor<T>& a, const BasicTensor<T>& b);

// With a scalar constant.
template <typename T>
BasicTensor<T> add(const BasicTensor<T>& a, double s);
template <typename T>
BasicTensor<T> mul(const BasicTensor<T>& a, double s);
template <typename T>
BasicTensor<T> div(const BasicTensor<T>& a, double s);

// ---- unary, elementwise (ops_unary.cpp) ----
template <typename T>
BasicTensor<T> neg(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> exp(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> log(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> sqrt(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> pow(const BasicTensor<T>& x, double exponent);
template <typename T>
BasicTensor<T> relu(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> tanh(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> sigmoid(const BasicTensor<T>& x);

// ---- reductions (ops_reduce.cpp) ----
// Over all elements: a tensor of shape (1). Over one dim: that dim removed (kept as 1 with
// keepdim); summing the only dim of a rank-1 tensor gives shape (1).
template <typename T>
BasicTensor<T> sum(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> sum(const BasicTensor<T>& x, int dim, bool keepdim = false);
template <typename T>
BasicTensor<T> mean(const BasicTensor<T>& x);
template <typename T>
BasicTensor<T> mean(const BasicTensor<T>& x, int dim, bool keepdim = false);

// ---- linear algebra and shape (ops_linalg.cpp) ----
// (N, K) x (K, M) -> (N, M), through Eigen's GEMM.
template <typename T>
BasicTensor<T> matmul(const BasicTensor<T>& a, const BasicTensor<T>& b);
// Swaps two dims (a copy); transpose(x) swaps the two dims of a matrix.
template <typename T>
BasicTensor<T> transpose(const BasicTensor<T>& x, int dim0 = 0, int dim1 = 1);
// Same values, another shape with the same number of elements (no copy).
template <typename T>
BasicTensor<T> reshape(const BasicTensor<T>& x, const Shape& shape);

// ---- operators ----
template <typename T>
BasicTensor<T> operator+(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  return add(a, b);
}
template <typename T>
BasicTensor<T> operator-(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  return sub(a, b);
}
template <typename T>
BasicTensor<T> operator*(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  return mul(a, b);
}
template <typename T>
BasicTensor<T> operator/(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  return div(a, b);
}
template <typename T>
BasicTensor<T> operator-(const BasicTensor<T>& x) {
  return neg(x);
}
template <typename T>
BasicTensor<T> operator+(const BasicTensor<T>& a, double s) {
  return add(a, s);
}
template <typename T>
BasicTensor<T> operator+(double s, const BasicTensor<T>& a) {
  return add(a, s);
}
template <typename T>
BasicTensor<T> operator-(const BasicTensor<T>& a, double s) {
  return add(a, -s);
}
template <typename T>
BasicTensor<T> operator-(double s, const BasicTensor<T>& a) {
  return add(neg(a), s);
}
template <typename T>
BasicTensor<T> operator*(const BasicTensor<T>& a, double s) {
  return mul(a, s);
}
template <typename T>
BasicTensor<T> operator*(double s, const BasicTensor<T>& a) {
  return mul(a, s);
}
template <typename T>
BasicTensor<T> operator/(const BasicTensor<T>& a, double s) {
  return div(a, s);
}

}  // namespace mg

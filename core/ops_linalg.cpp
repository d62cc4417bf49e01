// matmul, transpose and reshape, and their backwards.
#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/saved_tensor.hpp"

namespace mg {

template <typename T>
BasicTensor<T> matmul(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  require_defined("matmul", a, "first operand");
  require_defined("matmul", b, "second operand");
  if (a.rank() != 2 || b.rank() != 2 || a.size(1) != b.size(0)) {
    fail<ShapeError>("matmul: expected (N, K) x (K, M) matrices, got {} x {}", a.shape(),
                     b.shape());
  }
  // y = a b                                          a: (N, K), b: (K, M), y: (N, M)
  const int64_t dims[] = {a.size(0), b.size(1)};  // checked: (2^40, 0) x (0, 2^40) overflows
  BasicTensor<T> y = BasicTensor<T>::empty(Shape::checked("matmul", dims, 2));
  gemm<T>(a.matrix(), false, b.matrix(), false, T(0), y.matrix());
  // dL/da = dy b^T   (N, M) x (M, K)    reads b
  // dL/db = a^T dy   (K, N) x (N, M)    reads a
  y.set_grad_fn(
      "matmul", {a, b},
      [a_saved = SavedTensor<T>(a), b_saved = SavedTensor<T>(b)](
          const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
        if (in[0].requires_grad()) {
          gemm<T>(dy.matrix(), false, b_saved.get().matrix(), true, T(1), in[0].grad_matrix());
        }
        if (in[1].requires_grad()) {
          gemm<T>(a_saved.get().matrix(), true, dy.matrix(), false, T(1), in[1].grad_matrix());
        }
      });
  return y;
}

namespace {

// Copies x into y with dims dim0 and dim1 swapped; with `accumulate`, adds instead.
template <typename T>
void permute_into(const T* x, const Shape& xs, int dim0, int dim1, T* y, bool accumulate) {
  std::array<int64_t, 3> d{1, 1, 1};  // x's dims, padded on the right
  for (int i = 0; i < xs.rank(); ++i) d[i] = xs[i];
  std::array<int64_t, 3> yd = d;
  std::swap(yd[dim0], yd[dim1]);
  const std::array<int64_t, 3> ystride{yd[1] * yd[2], yd[2], 1};
  std::array<int64_t, 3> xstride_in_y = ystride;  // where x's dim i lands in y
  std::swap(xstride_in_y[dim0], xstride_in_y[dim1]);
  int64_t k = 0;
  for (int64_t i = 0; i < d[0]; ++i)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t l = 0; l < d[2]; ++l, ++k) {
        T& out = y[i * xstride_in_y[0] + j * xstride_in_y[1] + l * xstride_in_y[2]];
        out = accumulate ? out + x[k] : x[k];
      }
}

}  // namespace

template <typename T>
BasicTensor<T> transpose(const BasicTensor<T>& x, int dim0, int dim1) {
  require_defined("transpose", x);
  const int r = x.rank();
  // As in PyTorch, a negative dim counts from the end: -1 is the last.
  if (r < 2) fail<ShapeError>("transpose: expected a rank 2 or 3 input, got shape {}", x.shape());
  const bool in_range = -r <= dim0 && dim0 < r && -r <= dim1 && dim1 < r;
  if (!in_range) {
    fail<ShapeError>(
        "transpose: expected two dims in [{}, {}) of a rank 2 or 3 input, got dims {} and {} of "
        "shape {}",
        -r, r, dim0, dim1, x.shape());
  }
  if (dim0 < 0) dim0 += r;
  if (dim1 < 0) dim1 += r;
  std::array<int64_t, 3> dims{};
  for (int i = 0; i < r; ++i) dims[i] = x.size(i);
  std::swap(dims[dim0], dims[dim1]);
  // y[..., j, ..., i, ...] = x[..., i, ..., j, ...]
  BasicTensor<T> y = BasicTensor<T>::empty(Shape::checked("transpose", dims.data(), r));
  permute_into(x.data(), x.shape(), dim0, dim1, y.data(), /*accumulate=*/false);
  // The backward swaps the same dims back: dx += transpose(dy).
  y.set_grad_fn("transpose", {x},
                [dim0, dim1](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
                  permute_into(dy.data(), dy.shape(), dim0, dim1, in[0].grad_flat().data(), true);
                });
  return y;
}

template <typename T>
BasicTensor<T> reshape(const BasicTensor<T>& x, const Shape& shape) {
  require_defined("reshape", x);
  // A default Shape has rank 0 (and numel() 1): no tensor has it, so it is not a target either.
  if (shape.rank() == 0) {
    fail<ShapeError>("reshape: expected a shape of rank 1 to {}, got rank 0", Shape::kMaxRank);
  }
  if (shape.numel() != x.numel()) {
    fail<ShapeError>("reshape: expected a shape with {} elements like {}, got {} ({} elements)",
                     x.numel(), x.shape(), shape, shape.numel());
  }
  // y is a view: the same row-major values read with another shape.
  BasicTensor<T> y = x.alias(shape);
  // dx += dy, read back with x's shape (the element order is unchanged).
  y.set_grad_fn("reshape", {x}, [](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
    in[0].grad_flat() += dy.flat();
  });
  return y;
}

#define MINIGRAD_INSTANTIATE(T)                                                 \
  template BasicTensor<T> matmul(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> transpose(const BasicTensor<T>&, int, int);           \
  template BasicTensor<T> reshape(const BasicTensor<T>&, const Shape&);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)

}  // namespace mg

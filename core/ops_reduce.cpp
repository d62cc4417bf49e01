// Reductions: sum and mean over all elements or over one dim, and their backwards.
//
// A reduction over dim d sees x as (outer, n, inner): outer = product of the dims before d,
// n = x's size along d, inner = product of the dims after d (row-major). y is (outer, inner).
// y[o, i] = sum_k x[o, k, i]  =>  dx[o, k, i] += dy[o, i] (the gradient is copied back along d).
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/summation.hpp"

namespace mg {
namespace {

struct Reduction {
  int64_t outer = 1, n = 1, inner = 1;
  Shape out;
};

Reduction plan(const char* op, const Shape& s, int dim, bool keepdim) {
  if (dim < -s.rank() || dim >= s.rank()) {
    fail<ShapeError>("{}: expected dim in [{}, {}] for an input of shape {}, got {}", op, -s.rank(),
                     s.rank() - 1, s, dim);
  }
  if (dim < 0) dim += s.rank();
  Reduction r;
  std::array<int64_t, Shape::kMaxRank> out{};
  int rank = 0;
  for (int d = 0; d < s.rank(); ++d) {
    if (d < dim) r.outer *= s[d];
    if (d > dim) r.inner *= s[d];
    if (d == dim) r.n = s[d];
    if (d != dim || keepdim) out[rank++] = d == dim ? 1 : s[d];
  }
  if (rank == 0) out[rank++] = 1;  // summing a vector's only dim gives (1)
  r.out = Shape::checked(op, out.data(), rank);
  return r;
}

// y = scale * sum_k x[o, k, i]; dx[o, k, i] += scale * dy[o, i]. With mean, scale = 1 / n.
// The sums are accurate at any size (core/summation.hpp): along a contiguous dim (inner = 1)
// each y[o] is one pairwise sum; otherwise each (n, inner) slab is summed down its columns.
template <typename T>
BasicTensor<T> reduce(const char* op, const BasicTensor<T>& x, int dim, bool keepdim, bool mean) {
  require_defined(op, x);
  const Reduction r = plan(op, x.shape(), dim, keepdim);
  if (mean && r.n == 0) {
    fail<ShapeError>("mean: expected a non-empty dim {}, got shape {}", dim, x.shape());
  }
  const double n = static_cast<double>(r.n);
  BasicTensor<T> y = BasicTensor<T>::empty(r.out);  // (outer, inner)
  const T* px = x.data();                           // (outer, n, inner)
  T* py = y.data();
  for (int64_t o = 0; o < r.outer; ++o) {
    const T* slab = px + o * r.n * r.inner;  // (n, inner)
    T* yo = py + o * r.inner;                // (inner)
    if (r.inner == 1) {
      const double total = pairwise_sum(slab, r.n);
      yo[0] = static_cast<T>(mean ? total / n : total);
    } else {
      column_sums(slab, r.n, r.inner, [&](int64_t i, double total) {
        yo[i] = static_cast<T>(mean ? total / n : total);
      });
    }
  }
  const T scale = mean ? T(1) / static_cast<T>(r.n) : T(1);
  y.set_grad_fn(op, {x}, [r, scale](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
    const T* pdy = dy.data();
    T* dx = in[0].grad_flat().data();
    for (int64_t o = 0; o < r.outer; ++o)
      for (int64_t k = 0; k < r.n; ++k)
        for (int64_t i = 0; i < r.inner; ++i)
          dx[(o * r.n + k) * r.inner + i] += scale * pdy[o * r.inner + i];
  });
  return y;
}

// y = scale * sum of all elements (one pairwise sum); dx += scale * dy.
template <typename T>
BasicTensor<T> reduce_all(const char* op, const BasicTensor<T>& x, bool mean) {
  require_defined(op, x);
  const double total = pairwise_sum(x.data(), x.numel());
  BasicTensor<T> y = BasicTensor<T>::empty(Shape{1});
  y.data()[0] = static_cast<T>(mean ? total / static_cast<double>(x.numel()) : total);
  const T scale = mean ? T(1) / static_cast<T>(x.numel()) : T(1);
  y.set_grad_fn(op, {x}, [scale](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
    in[0].grad_flat() += scale * dy.item();
  });
  return y;
}

}  // namespace

template <typename T>
BasicTensor<T> sum(const BasicTensor<T>& x) {
  return reduce_all("sum", x, /*mean=*/false);
}

template <typename T>
BasicTensor<T> sum(const BasicTensor<T>& x, int dim, bool keepdim) {
  return reduce("sum", x, dim, keepdim, /*mean=*/false);
}

template <typename T>
BasicTensor<T> mean(const BasicTensor<T>& x) {
  if (x.numel() == 0) fail<ShapeError>("mean: expected a non-empty input, got shape {}", x.shape());
  return reduce_all("mean", x, /*mean=*/true);
}

template <typename T>
BasicTensor<T> mean(const BasicTensor<T>& x, int dim, bool keepdim) {
  return reduce("mean", x, dim, keepdim, /*mean=*/true);
}

#define MINIGRAD_INSTANTIATE(T)                                  \
  template BasicTensor<T> sum(const BasicTensor<T>&);            \
  template BasicTensor<T> sum(const BasicTensor<T>&, int, bool); \
  template BasicTensor<T> mean(const BasicTensor<T>&);           \
  template BasicTensor<T> mean(const BasicTensor<T>&, int, bool);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)

}  // namespace mg

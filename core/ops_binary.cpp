// Binary elementwise ops with broadcasting, and their backwards.
//
// Legend: a, b are the operands, y the output, dy = dL/dy; "a stretched" means a dim of size 1
// in a (or a missing leading dim) repeated along y's dim.
#include <array>

#include "core/error.hpp"
#include "core/ops.hpp"

namespace mg {
namespace {

// How a and b map onto y: y's shape, padded to rank 3 on the left, and for each operand the
// stride of each of y's dims into that operand (0 where the operand is stretched).
struct Broadcast {
  Shape out;
  std::array<int64_t, 3> dims{1, 1, 1};
  std::array<int64_t, 3> stride_a{0, 0, 0};
  std::array<int64_t, 3> stride_b{0, 0, 0};
  bool same_shape = false;
};

std::array<int64_t, 3> padded(const Shape& s) {
  std::array<int64_t, 3> d{1, 1, 1};
  for (int i = 0; i < s.rank(); ++i) d[3 - s.rank() + i] = s[i];
  return d;
}

// Row-major strides of a padded shape, with 0 for dims of size 1 (stretched or trivial).
std::array<int64_t, 3> strides(const std::array<int64_t, 3>& d) {
  std::array<int64_t, 3> s{d[1] * d[2], d[2], 1};
  for (int i = 0; i < 3; ++i)
    if (d[i] == 1) s[i] = 0;
  return s;
}

Broadcast broadcast(const char* op, const Shape& a, const Shape& b) {
  Broadcast plan;
  plan.same_shape = a == b;
  const std::array<int64_t, 3> da = padded(a), db = padded(b);
  for (int i = 0; i < 3; ++i) {
    if (da[i] != db[i] && da[i] != 1 && db[i] != 1) {
      fail<ShapeError>("{}: expected shapes that broadcast (equal dims, or 1), got {} and {}", op,
                       a, b);
    }
    plan.dims[i] = da[i] == 1 ? db[i] : da[i];
  }
  const int rank = std::max(a.rank(), b.rank());
  plan.out = Shape::checked(op, plan.dims.data() + 3 - rank, rank);
  plan.stride_a = strides(da);
  plan.stride_b = strides(db);
  return plan;
}

// The broadcast index loop, the one place it is written: calls visit(k, ia, ib) for every
// element k of y (row-major), with ia, ib the elements of a and b it reads.
template <typename Visit>
void for_each_element(const Broadcast& p, Visit visit) {
  if (p.same_shape) {
    const int64_t n = p.dims[0] * p.dims[1] * p.dims[2];
    for (int64_t k = 0; k < n; ++k) visit(k, k, k);
    return;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < p.dims[0]; ++i)
    for (int64_t j = 0; j < p.dims[1]; ++j)
      for (int64_t l = 0; l < p.dims[2]; ++l, ++k) {
        const int64_t ia = i * p.stride_a[0] + j * p.stride_a[1] + l * p.stride_a[2];
        const int64_t ib = i * p.stride_b[0] + j * p.stride_b[1] + l * p.stride_b[2];
        visit(k, ia, ib);
      }
}

// y[k] = f(a[ia], b[ib]) over y's index space.
template <typename T, typename F>
BasicTensor<T> forward_binary(const Broadcast& p, const BasicTensor<T>& a,
                              const BasicTensor<T>& b, F f) {
  BasicTensor<T> y = BasicTensor<T>::empty(p.out);
  const T* pa = a.data();
  const T* pb = b.data();
  T* py = y.data();
  for_each_element(p, [&](int64_t k, int64_t ia, int64_t ib) { py[k] = f(pa[ia], pb[ib]); });
  return y;
}

// The shared backward: for each element of y, `local(dy, a, b)` returns the pair
// (dy * dy/da, dy * dy/db); each is added into the operand's gradient at the element it came
// from, so a stretched operand receives the sum over the dims it was stretched along. It keeps
// the forward's plan (the shapes of a and b cannot change in between).
template <typename T, typename F>
BackwardFn<T> backward_binary(const Broadcast& p, F local) {
  return [p, local](const BasicTensor<T>& dy, std::span<BasicTensor<T>> in) {
    BasicTensor<T>& a = in[0];
    BasicTensor<T>& b = in[1];
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    T* ga = need_a ? a.grad_flat().data() : nullptr;
    T* gb = need_b ? b.grad_flat().data() : nullptr;
    const T* pa = a.data();
    const T* pb = b.data();
    const T* pdy = dy.data();
    for_each_element(p, [&](int64_t k, int64_t ia, int64_t ib) {
      const auto [da, db] = local(pdy[k], pa[ia], pb[ib]);
      if (need_a) ga[ia] += da;
      if (need_b) gb[ib] += db;
    });
  };
}

}  // namespace

template <typename T>
BasicTensor<T> add(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  // y = a + b
  const Broadcast plan = broadcast("add", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a + b; });
  // dy/da = 1, dy/db = 1
  y.set_grad_fn("add", {a, b}, backward_binary<T>(plan, [](T dy, T, T) {
                  return std::pair{dy, dy};
                }));
  return y;
}

template <typename T>
BasicTensor<T> sub(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  // y = a - b
  const Broadcast plan = broadcast("sub", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a - b; });
  // dy/da = 1, dy/db = -1
  y.set_grad_fn("sub", {a, b}, backward_binary<T>(plan, [](T dy, T, T) {
                  return std::pair{dy, -dy};
                }));
  return y;
}

template <typename T>
BasicTensor<T> mul(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  // y = a * b
  const Broadcast plan = broadcast("mul", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a * b; });
  // dy/da = b, dy/db = a
  y.set_grad_fn("mul", {a, b}, backward_binary<T>(plan, [](T dy, T a, T b) {
                  return std::pair{dy * b, dy * a};
                }));
  return y;
}

template <typename T>
BasicTensor<T> div(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  // y = a / b
  const Broadcast plan = broadcast("div", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a / b; });
  // dy/da = 1 / b, dy/db = -a / b^2
  y.set_grad_fn("div", {a, b}, backward_binary<T>(plan, [](T dy, T a, T b) {
                  return std::pair{dy / b, -dy * a / (b * b)};
                }));
  return y;
}

template <typename T>
BasicTensor<T> add(const BasicTensor<T>& a, double s) {
  // y = a + s
  BasicTensor<T> y = BasicTensor<T>::empty(a.shape());
  y.flat() = a.flat() + static_cast<T>(s);
  // dy/da = 1
  y.set_grad_fn("add_scalar", {a}, [](const BasicTensor<T>& dy, std::span<BasicTensor<T>> in) {
    in[0].grad_flat() += dy.flat();
  });
  return y;
}

template <typename T>
BasicTensor<T> mul(const BasicTensor<T>& a, double s) {
  // y = a * s
  BasicTensor<T> y = BasicTensor<T>::empty(a.shape());
  y.flat() = a.flat() * static_cast<T>(s);
  // dy/da = s
  y.set_grad_fn("mul_scalar", {a}, [s](const BasicTensor<T>& dy, std::span<BasicTensor<T>> in) {
    in[0].grad_flat() += dy.flat() * static_cast<T>(s);
  });
  return y;
}

#define MINIGRAD_INSTANTIATE(T)                                              \
  template BasicTensor<T> add(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> sub(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> mul(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> div(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> add(const BasicTensor<T>&, double);                \
  template BasicTensor<T> mul(const BasicTensor<T>&, double);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)

}  // namespace mg

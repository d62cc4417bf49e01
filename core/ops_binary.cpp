// Binary elementwise ops with broadcasting, and their backwards.
//
// Legend: a, b are the operands, y the output, dy = dL/dy; "a stretched" means a dim of size 1
// in a (or a missing leading dim) repeated along y's dim.
#include <array>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/saved_tensor.hpp"
#include "core/summation.hpp"

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
// element k of y (row-major), with ia, ib the elements of a and b it reads. Operands of the same
// shape are split over the threads when large (parallel_ranges): element k, and only it, reads
// and writes index k of every array, so the result is the same.
template <typename Visit>
void for_each_element(const Broadcast& p, Visit visit) {
  if (p.same_shape) {
    parallel_ranges(p.dims[0] * p.dims[1] * p.dims[2], [&visit](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) visit(k, k, k);
    });
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
BasicTensor<T> forward_binary(const Broadcast& p, const BasicTensor<T>& a, const BasicTensor<T>& b,
                              F f) {
  BasicTensor<T> y = BasicTensor<T>::empty(p.out);
  const T* pa = a.data();
  const T* pb = b.data();
  T* py = y.data();
  for_each_element(p, [&](int64_t k, int64_t ia, int64_t ib) { py[k] = f(pa[ia], pb[ib]); });
  return y;
}

// Which operand values a binary backward reads, as in PyTorch: none (add, sub: the derivatives
// are constants); the other operand for each gradient (mul: da = dy b, db = dy a); b for a's
// gradient and both for b's (div: da = dy / b, db = -dy (a / b) / b).
enum class Reads { nothing, other_operand, quotient };

// Adds into g the sums of t over the stretched dims: t has y's padded dims (dims), g the same
// with the stretched ones set to 1. Dims of size 1 are dropped and neighbours of one kind merged,
// which leaves one of five patterns (K: kept dims, S: stretched ones), each summed pairwise
// (core/summation.hpp): S as one sum, (K, S) as K contiguous sums, (S, K) and (K, S, K) down
// columns, (S, K, S) along the rows and then down the columns of those row sums, kept in double.
template <typename T>
void add_stretched_sums(const T* t, const std::array<int64_t, 3>& dims,
                        const std::array<bool, 3>& stretched, T* g) {
  std::array<int64_t, 3> size{};  // the merged dims, outermost first
  std::array<bool, 3> kind{};     // whether each is stretched
  int n = 0;
  for (int d = 0; d < 3; ++d) {
    if (dims[d] == 1) continue;
    if (n > 0 && kind[n - 1] == stretched[d]) {
      size[n - 1] *= dims[d];
    } else {
      size[n] = dims[d];
      kind[n++] = stretched[d];
    }
  }
  const auto add_to = [g](int64_t offset) {
    return [g, offset](int64_t i, double total) { g[offset + i] += static_cast<T>(total); };
  };
  if (n == 1) {  // S: the one run is stretched, as a stretched operand has a stretched dim
    g[0] += static_cast<T>(pairwise_sum(t, size[0]));
  } else if (n == 2 && !kind[0]) {  // (K, S)
    for (int64_t k = 0; k < size[0]; ++k)
      g[k] += static_cast<T>(pairwise_sum(t + k * size[1], size[1]));
  } else if (n == 2) {  // (S, K)
    column_sums(t, size[0], size[1], add_to(0));
  } else if (!kind[0]) {  // (K, S, K)
    for (int64_t k = 0; k < size[0]; ++k)
      column_sums(t + k * size[1] * size[2], size[1], size[2], add_to(k * size[2]));
  } else {
    // (S, K, S): rows (S, K) holds t summed along its last dim, then summed down its columns
    std::vector<double> rows(size[0] * size[1]);
    for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = pairwise_sum(t + r * size[2], size[2]);
    column_sums(rows.data(), size[0], size[1], add_to(0));
  }
}

// Where one operand's gradient terms go. An operand of y's shape gets one term per element,
// added straight into its gradient. A stretched operand gets many per element (N for a (C) bias
// over (N, C)): the terms are written out in y's shape, as if the operand had not been
// stretched, and finish() sums them over the stretched dims pairwise (add_stretched_sums), so
// the sum stays accurate at any size. (A running total in double, one term after another, was
// 1.6e-4 short of 10^6 for 10^7 float64 terms of 0.1: a million ulps.)
template <typename T>
class GradSink {
 public:
  GradSink(const BasicTensor<T>& operand, const Broadcast& p,
           const std::array<int64_t, 3>& operand_strides)
      : operand_(operand), dims_(p.dims) {
    if (!operand.requires_grad()) return;
    if (operand.numel() == p.out.numel()) {
      direct_ = operand.grad_flat().data();
      return;
    }
    terms_tensor_ = BasicTensor<T>::empty(p.out);
    terms_ = terms_tensor_.data();
    for (int d = 0; d < 3; ++d) stretched_[d] = operand_strides[d] == 0 && dims_[d] != 1;
  }
  // The term of y's element k, which read the operand's element i.
  void add(int64_t k, int64_t i, T term) {
    if (direct_)
      direct_[i] += term;
    else if (terms_)
      terms_[k] = term;
  }
  void finish() {
    if (terms_) add_stretched_sums<T>(terms_, dims_, stretched_, operand_.grad_flat().data());
  }

 private:
  const BasicTensor<T>& operand_;
  std::array<int64_t, 3> dims_;  // y's, padded to rank 3
  T* direct_ = nullptr;          // the operand's gradient, when it has y's shape
  BasicTensor<T> terms_tensor_;  // otherwise y's shape, holding the terms
  T* terms_ = nullptr;
  std::array<bool, 3> stretched_{};
};

// The shared backward: for each element of y, `local(dy, a, b)` returns the pair
// (dy * dy/da, dy * dy/db); each is added into the operand's gradient at the element it came
// from, so a stretched operand receives the sum over the dims it was stretched along. It keeps
// the forward's plan (the shapes of a and b cannot change in between).
template <typename T, typename F>
BackwardFn<T> backward_binary(const Broadcast& p, Reads reads, const BasicTensor<T>& a,
                              const BasicTensor<T>& b, F local) {
  std::optional<SavedTensor<T>> saved_a, saved_b;
  if (reads != Reads::nothing) {
    saved_a.emplace(a);
    saved_b.emplace(b);
  }
  return [p, reads, saved_a = std::move(saved_a), saved_b = std::move(saved_b), local](
             const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
    const BasicTensor<T>& a = in[0];
    const BasicTensor<T>& b = in[1];
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    GradSink<T> ga(a, p, p.stride_a), gb(b, p, p.stride_b);
    // The values the needed gradients read come from the saved operands, checked. The loop
    // reads both operands either way; where it reads the inputs unchecked, only derivatives
    // that are discarded use those values.
    const bool read_a = reads != Reads::nothing && need_b;
    const bool read_b = reads != Reads::nothing && (need_a || (need_b && reads == Reads::quotient));
    const T* pa = read_a ? saved_a->get().data() : a.data();
    const T* pb = read_b ? saved_b->get().data() : b.data();
    const T* pdy = dy.data();
    for_each_element(p, [&](int64_t k, int64_t ia, int64_t ib) {
      const auto [da, db] = local(pdy[k], pa[ia], pb[ib]);
      ga.add(k, ia, da);
      gb.add(k, ib, db);
    });
    ga.finish();
    gb.finish();
  };
}

}  // namespace

template <typename T>
BasicTensor<T> add(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  require_defined("add", a, "first operand");
  require_defined("add", b, "second operand");
  // y = a + b
  const Broadcast plan = broadcast("add", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a + b; });
  // dy/da = 1, dy/db = 1
  y.set_grad_fn("add", {a, b}, backward_binary<T>(plan, Reads::nothing, a, b, [](T dy, T, T) {
                  return std::pair{dy, dy};
                }));
  return y;
}

template <typename T>
BasicTensor<T> sub(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  require_defined("sub", a, "first operand");
  require_defined("sub", b, "second operand");
  // y = a - b
  const Broadcast plan = broadcast("sub", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a - b; });
  // dy/da = 1, dy/db = -1
  y.set_grad_fn("sub", {a, b}, backward_binary<T>(plan, Reads::nothing, a, b, [](T dy, T, T) {
                  return std::pair{dy, -dy};
                }));
  return y;
}

template <typename T>
BasicTensor<T> mul(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  require_defined("mul", a, "first operand");
  require_defined("mul", b, "second operand");
  // y = a * b
  const Broadcast plan = broadcast("mul", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a * b; });
  // dy/da = b, dy/db = a
  y.set_grad_fn("mul", {a, b},
                backward_binary<T>(plan, Reads::other_operand, a, b, [](T dy, T a, T b) {
                  return std::pair{dy * b, dy * a};
                }));
  return y;
}

template <typename T>
BasicTensor<T> div(const BasicTensor<T>& a, const BasicTensor<T>& b) {
  require_defined("div", a, "first operand");
  require_defined("div", b, "second operand");
  // y = a / b
  const Broadcast plan = broadcast("div", a.shape(), b.shape());
  BasicTensor<T> y = forward_binary(plan, a, b, [](T a, T b) { return a / b; });
  // dy/da = 1 / b, dy/db = -a / b^2, taken as -(a / b) / b, as PyTorch does: b * b overflows
  // (or underflows to 0) long before the gradient does, as for b = 1e25f, a = 1e30f.
  y.set_grad_fn("div", {a, b}, backward_binary<T>(plan, Reads::quotient, a, b, [](T dy, T a, T b) {
                  return std::pair{dy / b, -dy * ((a / b) / b)};
                }));
  return y;
}

// The backward of an op with a scalar constant: dx (+)= f(dy), elementwise. A fresh gradient is
// written, not added to zeros, so that a -0 in f(dy) stays -0, as in PyTorch.
template <typename T, typename F>
BackwardFn<T> scalar_backward(F f) {
  return [f](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
    const typename BasicTensor<T>::GradBuffer dx = in[0].grad_buffer();
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> out(dx.data, dy.numel());
    if (dx.accumulate) {
      out += f(dy.flat());
    } else {
      out = f(dy.flat());
    }
  };
}

template <typename T>
BasicTensor<T> add(const BasicTensor<T>& a, double s) {
  require_defined("add", a);
  // y = a + s
  BasicTensor<T> y = BasicTensor<T>::empty(a.shape());
  y.flat() = a.flat() + static_cast<T>(s);
  // dy/da = 1
  y.set_grad_fn("add_scalar", {a}, scalar_backward<T>([](const auto& g) { return g; }));
  return y;
}

template <typename T>
BasicTensor<T> mul(const BasicTensor<T>& a, double s) {
  require_defined("mul", a);
  // y = a * s
  BasicTensor<T> y = BasicTensor<T>::empty(a.shape());
  y.flat() = a.flat() * static_cast<T>(s);
  // dy/da = s
  y.set_grad_fn("mul_scalar", {a},
                scalar_backward<T>([s](const auto& g) { return g * static_cast<T>(s); }));
  return y;
}

template <typename T>
BasicTensor<T> div(const BasicTensor<T>& a, double s) {
  require_defined("div", a);
  // y = a / s, divided (as PyTorch does), not multiplied by 1 / s: that rounds twice, and
  // overflows where 1 / s does (s = 1e-39 in float) although a / s may not
  BasicTensor<T> y = BasicTensor<T>::empty(a.shape());
  y.flat() = a.flat() / static_cast<T>(s);
  // dy/da = 1 / s
  y.set_grad_fn("div_scalar", {a},
                scalar_backward<T>([s](const auto& g) { return g / static_cast<T>(s); }));
  return y;
}

#define MINIGRAD_INSTANTIATE(T)                                              \
  template BasicTensor<T> add(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> sub(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> mul(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> div(const BasicTensor<T>&, const BasicTensor<T>&); \
  template BasicTensor<T> add(const BasicTensor<T>&, double);                \
  template BasicTensor<T> mul(const BasicTensor<T>&, double);                \
  template BasicTensor<T> div(const BasicTensor<T>&, double);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)

}  // namespace mg

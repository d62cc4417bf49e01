// Sums over 10^7 float32 values, in every layout a reduction meets (along a contiguous dim, down
// strided columns, wide and narrow, rank 2 and 3), and everywhere else a float accumulates: the
// losses, Linear's bias gradient, the gradient of a broadcast operand, LayerNorm, BatchNorm1d's
// running mean. Each must be within one float32 ulp of the sum taken in double. A float32
// running total misses by far more: mean(full((10^7, 1), 0.1)) was 0.1088. (PyTorch's cascade
// sum gives 0.09999994, 8 ulps off; minigrad's double cascade is within 1.) In float64 the
// same sums must be within a few float64 ulps, and a thin matrix product with a long inner
// dimension within a few float32 ulps of its product in double.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/ops.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"

using mg::Shape;
using mg::Tensor;

namespace {

constexpr int64_t kBig = 10'000'000;

// How many float32 ulps `got` lies from `want`. The references below are sums in double, one
// term at a time: over 10^7 terms they are within 10^7 float64 ulps of exact, about 0.02 ulp
// of a float32, so they can tell a result 1 float32 ulp off.
double ulps(float got, double want) {
  const float w = static_cast<float>(want);
  const double ulp = std::nextafter(w, std::numeric_limits<float>::infinity()) - w;
  return std::fabs(got - want) / ulp;
}

// x[i] = 0.1 + (i mod 1000) / 10^4: values that do not repeat in a short period, so no lucky
// block of equal terms rounds the same way every time.
Tensor ramp(const Shape& shape) {
  Tensor x = Tensor::empty(shape);
  float* p = x.data();
  for (int64_t i0 = 0; i0 < x.numel(); i0 += 1000)
    for (int64_t j = 0; j < std::min<int64_t>(1000, x.numel() - i0); ++j)
      p[i0 + j] = 0.1f + static_cast<float>(j) * 1e-4f;
  return x;
}

// The reference: y[o, i] = sum_k x[o, k, i] in double, x seen as (outer, n, inner) around dim
// `dim`, as in core/ops_reduce.cpp.
std::vector<double> exact_sums(const Tensor& x, int dim) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= x.size(d);
  for (int d = dim + 1; d < x.rank(); ++d) inner *= x.size(d);
  const int64_t n = x.size(dim);
  std::vector<double> y(outer * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n; ++k) {
      const float* row = x.data() + (o * n + k) * inner;  // (inner)
      double* yo = y.data() + o * inner;                  // (inner)
      for (int64_t i = 0; i < inner; ++i) yo[i] += row[i];
    }
  return y;
}

double exact_sum(const float* p, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}

// The largest ulp distance between got[i] and want[i] * scale.
double worst_ulps(const Tensor& got, const std::vector<double>& want, double scale) {
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  double worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, ulps(got.data()[i], want[i] * scale));
  return worst;
}

}  // namespace

TEST_CASE("accuracy: sum and mean of 10^7 values, over every dim of every layout", "[accuracy]") {
  // (10^7, 1) is the column, (10^4, 10^3) has wide strided columns and short rows,
  // (5 * 10^6, 2) narrow strided columns, (100, 1000, 100) puts the summed dim in the middle.
  struct Layout {
    Shape shape;
    std::vector<int> dims;  // the dims worth summing (not those of size 1)
  };
  for (const Layout& l :
       {Layout{{kBig, 1}, {0}}, Layout{{1, kBig}, {1}}, Layout{{10'000, 1'000}, {0, 1}},
        Layout{{kBig / 2, 2}, {0}}, Layout{{100, 1'000, 100}, {0, 1, 2}}}) {
    const Tensor x = ramp(l.shape);
    for (int dim : l.dims) {
      INFO(l.shape.str() << " dim " << dim);
      const std::vector<double> want = exact_sums(x, dim);
      CHECK(worst_ulps(mg::sum(x, dim), want, 1.0) <= 1.0);
      CHECK(worst_ulps(mg::mean(x, dim), want, 1.0 / static_cast<double>(l.shape[dim])) <= 1.0);
    }
  }
  const Tensor x = ramp({kBig});
  const double total = exact_sum(x.data(), kBig);
  CHECK(ulps(mg::sum(x).item(), total) <= 1.0);
  CHECK(ulps(mg::mean(x).item(), total / kBig) <= 1.0);
}

TEST_CASE("accuracy: the issue's reproductions", "[accuracy]") {
  const double tenth = 0.1f;  // the float32 value, exactly
  const Tensor column = Tensor::full({kBig, 1}, 0.1f);
  CHECK(ulps(mg::mean(column, 0).item(), tenth) <= 1.0);  // was 0.1088
  CHECK(ulps(mg::mean(column).item(), tenth) <= 1.0);     // was 0.0997
  CHECK(ulps(mg::sum(column).item(), tenth * kBig) <= 1.0);
  const Tensor zeros = Tensor::zeros({kBig, 1});
  CHECK(ulps(mg::nn::mse_loss(column, zeros).item(), tenth * tenth) <= 1.0);
}

TEST_CASE("accuracy: mse_loss and cross_entropy over 10^7 terms", "[accuracy]") {
  const Tensor pred = ramp({kBig / 2, 2});
  const Tensor target = Tensor::full({kBig / 2, 2}, 0.5f);
  double squares = 0;
  for (int64_t i = 0; i < pred.numel(); ++i) {
    const double d = pred.data()[i] - target.data()[i];  // rounded to float first, as PyTorch's
    squares += d * d;
  }
  CHECK(ulps(mg::nn::mse_loss(pred, target).item(), squares / kBig) <= 1.0);

  // One row of 10^7 classes: the softmax denominator is a sum of 10^7 exponentials.
  const Tensor logits = ramp({1, kBig});
  const float* z = logits.data();
  float m = z[0];
  for (int64_t k = 1; k < kBig; ++k) m = std::max(m, z[k]);
  double denominator = 0;
  for (int64_t k = 0; k < kBig; ++k) denominator += std::exp(z[k] - m);
  const double want = m + std::log(denominator) - z[7];
  const std::vector<int64_t> target_class{7};
  CHECK(ulps(mg::nn::cross_entropy(logits, target_class).item(), want) <= 1.0);
}

TEST_CASE("accuracy: gradients summed over 10^7 rows", "[accuracy]") {
  // Each block frees its 10^7-element tensors before the next, so the allocator's cache hands
  // the same pages on instead of faulting in fresh ones.
  const double tenth = 0.1f;
  const Tensor dy = Tensor::full({kBig, 1}, 0.1f);  // the upstream gradient, (N, 1)
  const Tensor x = Tensor::full({kBig, 1}, 1.0f);
  {  // Linear's bias gradient: dL/db = sum_n dy[n].
    mg::nn::Linear linear(1, 1);
    linear(x).backward(dy);
    CHECK(ulps(linear.bias.grad().item(), tenth * kBig) <= 1.0);
  }
  {  // A (1) operand broadcast over (N, 1) receives the sum of its N gradient terms.
    const Tensor b = Tensor::zeros({1}, /*requires_grad=*/true);
    const Tensor w = Tensor::full({1}, 1.0f, /*requires_grad=*/true);
    mg::mul(mg::add(x, b), w).backward(dy);
    CHECK(ulps(b.grad().item(), tenth * kBig) <= 1.0);
    CHECK(ulps(w.grad().item(), tenth * kBig) <= 1.0);  // sum of dy * (x + b) = sum of dy
  }
  {  // BatchNorm1d's batch mean over 10^7 rows (momentum 1: running_mean = the batch mean).
    mg::nn::BatchNorm1d bn(1, {.momentum = 1.0});
    bn(dy);
    CHECK(ulps(bn.running_mean.item(), tenth) <= 1.0);
  }
  {  // LayerNorm's dbeta sums dy over the 10^4 rows, for each of 10^3 features.
    mg::nn::LayerNorm norm(1'000);
    const Tensor dy_rows = Tensor::full({10'000, 1'000}, 0.1f);
    norm(ramp({10'000, 1'000})).backward(dy_rows);
    const std::vector<double> want(1'000, tenth * 10'000);
    CHECK(worst_ulps(norm.bias.grad(), want, 1.0) <= 1.0);
  }
}

// float64: the sums above stay within 8 float64 ulps of the exact sum (a pairwise sum of 10^7
// terms of 0.1 is 6 off; its bound grows with log2 of the count). n terms of 0.1 add up to
// exactly n * 0.1 (the float64 value of 0.1, times n), and the one rounding of that product is
// the exact sum correctly rounded.
namespace {

double ulps64(double got, double want) {
  return std::fabs(got - want) / (std::nextafter(want, 2 * want) - want);
}

}  // namespace

TEST_CASE("accuracy: float64 gradients of broadcast operands are summed pairwise", "[accuracy]") {
  // One stretched dim (b: (1) over 10^7; (C) down 5 * 10^6 rows; (N, 1) along rows of 5 * 10^6)
  // and two ((1, C, 1) over (A, C, B)). A running total in double was 10^6 ulps off on the first.
  struct Case {
    Shape x, b;
  };
  for (const Case& c : {Case{{kBig}, {1}}, Case{{kBig / 2, 2}, {2}}, Case{{2, kBig / 2}, {2, 1}},
                        Case{{2'000, 2, 2'500}, {1, 2, 1}}}) {
    INFO(c.x.str() << " + " << c.b.str());
    const mg::TensorD x = mg::TensorD::full(c.x, 0.1);
    const mg::TensorD b = mg::TensorD::zeros(c.b, /*requires_grad=*/true);
    mg::add(x, b).backward(mg::TensorD::full(c.x, 0.1));
    const double want = static_cast<double>(x.numel() / b.numel()) * 0.1;
    for (int64_t i = 0; i < b.numel(); ++i) CHECK(ulps64(b.grad().data()[i], want) <= 8.0);
  }
}

TEST_CASE("accuracy: float64 sums down strided columns and Linear's bias gradient", "[accuracy]") {
  // sum over dim 0 of (5 * 10^6, 2) was 750 ulps off, the block totals added one after another.
  const mg::TensorD x = mg::TensorD::full({kBig / 2, 2}, 0.1);
  const double want = static_cast<double>(kBig / 2) * 0.1;
  const mg::TensorD sums = mg::sum(x, 0);
  CHECK(ulps64(sums.data()[0], want) <= 8.0);
  CHECK(ulps64(sums.data()[1], want) <= 8.0);
  CHECK(ulps64(mg::mean(x, 0).data()[0], 0.1) <= 8.0);
  // Linear's bias gradient sums dy down its N rows the same way.
  mg::nn::BasicLinear<double> linear(1, 2);
  linear(mg::TensorD::full({kBig / 2, 1}, 1.0)).backward(x);
  CHECK(ulps64(linear.bias.grad().data()[0], want) <= 8.0);
  CHECK(ulps64(linear.bias.grad().data()[1], want) <= 8.0);
}

TEST_CASE("accuracy: thin products with a long inner dimension", "[accuracy]") {
  // One output (a dot product), one output row, one output column, and a 2 x 2 output: each
  // within a few float32 ulps of the product taken in double. Before, Eigen summed the long
  // dimension in float: (1, 10^5) x (10^5, 1) of 1.001 was 5.2e-4 off, x . x over 10^7 values
  // around 10^4 14%.
  const auto rel = [](const Tensor& got, double want) {
    double worst = 0;
    for (const float v : std::span(got.data(), got.numel()))
      worst = std::max(worst, std::fabs(v - want) / want);
    return worst;
  };
  const double eps = std::numeric_limits<float>::epsilon();
  {
    const int64_t K = 100'000;
    const Tensor a = Tensor::full({1, K}, 1.001f), ones = Tensor::full({K, 1}, 1.f);
    const double want = static_cast<double>(1.001f) * K;
    CHECK(rel(mg::matmul(a, ones), want) <= 2 * eps);
    // Linear(1, 1)'s weight gradient is the same product: dW = dy^T x.
    mg::nn::Linear linear(1, 1, {.bias = false});
    linear(mg::reshape(a, {K, 1})).backward(ones);
    CHECK(rel(linear.weight.grad(), want) <= 2 * eps);
  }
  {  // x . x, 10^7 values around 10^4: the exact products summed in double as the reference
    Tensor x = ramp({1, kBig});
    for (float& v : std::span(x.data(), x.numel())) v *= 1e5f;
    double want = 0;
    for (const float v : std::span(std::as_const(x).data(), x.numel()))
      want += static_cast<double>(v) * v;
    CHECK(rel(mg::matmul(x, mg::reshape(x, {kBig, 1})), want) <= 2 * eps);
  }
  {  // one output row, one output column (Eigen's matrix-vector products): K = 10^6
    const int64_t K = 1'000'000;
    const double want = static_cast<double>(1.001f) * K;
    const Tensor row = Tensor::full({1, K}, 1.001f), wide = Tensor::full({K, 8}, 1.f);
    CHECK(rel(mg::matmul(row, wide), want) <= 8 * eps);
    const Tensor tall = Tensor::full({8, K}, 1.001f), column = Tensor::full({K, 1}, 1.f);
    CHECK(rel(mg::matmul(tall, column), want) <= 8 * eps);
  }
  {  // 2 x 2 (Eigen's GEMM, which adds its partial sums into C in float): K = 10^7
    const Tensor a = Tensor::full({2, kBig}, 1.001f), b = Tensor::full({kBig, 2}, 1.f);
    CHECK(rel(mg::matmul(a, b), static_cast<double>(1.001f) * kBig) <= 32 * eps);
  }
  {  // float64: a dot product of 10^7 terms of 0.1 x 1, which Eigen summed in one scalar chain
    const mg::TensorD a = mg::TensorD::full({1, kBig}, 0.1), b = mg::TensorD::full({kBig, 1}, 1.0);
    CHECK(ulps64(mg::matmul(a, b).item(), static_cast<double>(kBig) * 0.1) <= 8.0);
  }
}

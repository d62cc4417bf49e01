// BatchNorm1d's two paths give the same results: the plain loops of layers/batchnorm1d.cpp and
// the fast path of layers/batchnorm1d_fast.cpp, each forced with set_batchnorm1d_path, through the
// whole layer (output, running statistics, gradients of x, weight and bias). Shapes reach every
// branch of the fast path: rows of every channel, (N, C, L) runs, inputs large enough to be split
// over threads, outputs written with non-temporal stores; float and double, 1 and 2 threads,
// training and eval, affine or not, a fresh gradient and one that accumulates into an existing
// .grad().
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/batchnorm1d_walk.hpp"

namespace {

using mg::Shape;
using mg::nn::BatchNormPath;

// Forces a path for the scope of a test; by_size again afterwards.
struct ForcePath {
  explicit ForcePath(BatchNormPath path) { mg::nn::set_batchnorm1d_path(path); }
  ~ForcePath() { mg::nn::set_batchnorm1d_path(BatchNormPath::by_size); }
};

// Worst |a - b| / (1 + |b|) over two arrays.
template <typename T>
double worst(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i)
    w = std::max(w, std::abs(double(a[i]) - double(b[i])) / (1 + std::abs(double(b[i]))));
  return w;
}

// Everything one path produces for a training step then an eval step, each backward run twice
// (the second accumulates into the gradients the first left).
template <typename T>
struct Results {
  std::vector<std::vector<T>> arrays;
};

template <typename T>
Results<T> run(BatchNormPath path, const Shape& shape, bool affine) {
  const ForcePath force(path);
  mg::Generator gen(7);
  const int64_t C = shape[1];
  mg::BasicTensor<T> x = mg::BasicTensor<T>::randn(shape, gen, /*requires_grad=*/true);
  x.flat() += T(3);  // mean far from 0
  const mg::BasicTensor<T> dy = mg::BasicTensor<T>::randn(shape, gen);
  mg::nn::BasicBatchNorm1d<T> bn(C, {.affine = affine});
  if (affine) {
    bn.weight.flat() = mg::BasicTensor<T>::randn(Shape{C}, gen).flat();
    bn.bias.flat() = mg::BasicTensor<T>::randn(Shape{C}, gen).flat();
  }
  Results<T> r;
  auto keep = [&r](const mg::BasicTensor<T>& t) { r.arrays.push_back(t.to_vector()); };
  for (bool training : {true, false}) {
    bn.train(training);
    const mg::BasicTensor<T> y = bn.forward(x);
    keep(y);
    keep(bn.running_mean);
    keep(bn.running_var);
    for (int pass = 0; pass < 2; ++pass) {  // fresh gradients, then accumulating ones
      y.backward(dy, /*retain_graph=*/true);
      keep(x.grad());
      if (affine) {
        keep(bn.weight.grad());
        keep(bn.bias.grad());
      }
    }
    x.clear_grad();
    if (affine) bn.zero_grad();
  }
  return r;
}

template <typename T>
void check_paths_equal(const Shape& shape, bool affine) {
  CAPTURE(shape, affine, sizeof(T));
  const Results<T> plain = run<T>(BatchNormPath::plain, shape, affine);
  const Results<T> fast = run<T>(BatchNormPath::fast, shape, affine);
  REQUIRE(plain.arrays.size() == fast.arrays.size());
  // The fast path computes each element in T (float: a few ulps of the values), the plain one
  // in double; the statistics are summed in double by both.
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  for (size_t k = 0; k < plain.arrays.size(); ++k) {
    CAPTURE(k);
    CHECK(worst(fast.arrays[k], plain.arrays[k]) < tol);
  }
}

const std::vector<Shape> kShapes = {
    Shape{32, 10},       // the bench's small case, one row of channels at a time
    Shape{8192, 37},     // (N, C), split over threads (>= mg::kParallelElements)
    Shape{5, 3, 7},      // (N, C, L)
    Shape{19, 6, 70},    // (N, C, L) in cache: its runs summed in register strips, and a rest
    Shape{64, 20, 300},  // (N, C, L), split over threads, too large for the strips
    Shape{2, 1},         // the smallest batch with a variance
    // Outputs of 4 MiB and more are written with non-temporal stores: rows whose starts are not
    // 64-byte aligned (C = 257), and (N, C, L) runs of odd length.
    Shape{4099, 257},
    Shape{17, 7, 8821},
};

}  // namespace

TEST_CASE("BatchNorm1d: the plain and the fast path give the same results",
          "[batchnorm1d][paths]") {
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    for (const Shape& shape : kShapes)
      for (bool affine : {true, false}) {
        check_paths_equal<float>(shape, affine);
        check_paths_equal<double>(shape, affine);
      }
  }
  omp_set_num_threads(1);
}

TEST_CASE("BatchNorm1d: both paths give y = beta for a constant channel with eps = 0",
          "[batchnorm1d][paths]") {
  for (BatchNormPath path : {BatchNormPath::plain, BatchNormPath::fast}) {
    const ForcePath force(path);
    mg::nn::BatchNorm1d bn(2, {.eps = 0.0});
    bn.weight.flat().setConstant(2);
    bn.bias.flat().setConstant(0.5f);
    const mg::Tensor x = mg::Tensor::from_vector({1, 5, 1, 6, 1, 7, 1, 8}, Shape{4, 2});
    const mg::Tensor y = bn.forward(x);  // channel 0 constant: s = 0, not 1 / 0
    for (int64_t b = 0; b < 4; ++b) CHECK(y.at(b, 0) == 0.5f);
    CHECK(bn.running_mean.at(1) == Approx(0.9 * 0 + 0.1 * 6.5));
    CHECK(bn.running_var.at(1) == Approx(0.9 * 1 + 0.1 * 5.0 / 3));  // m2 = 5, unbiased / 3
  }
}

TEST_CASE("BatchNorm1d: set_batchnorm1d_path picks the loops, by_size picks by size",
          "[batchnorm1d][paths]") {
  // Both paths agree to float's rounding, but not bit for bit: the fast path computes in float,
  // the plain loops in double, which tells the paths apart.
  auto forward = [](const Shape& shape, BatchNormPath path) {
    const ForcePath force(path);
    mg::Generator gen(3);
    const mg::Tensor x = mg::Tensor::randn(shape, gen);
    mg::nn::BatchNorm1d bn(shape[1]);
    return bn.forward(x).to_vector();
  };
  // The bench's small case, make demo's training batch, a small (N, C, L): the plain loops.
  for (const Shape& shape : {Shape{32, 10}, Shape{32, 64}, Shape{4, 8, 32}, Shape{63, 64}}) {
    CAPTURE(shape);
    const std::vector<float> plain = forward(shape, BatchNormPath::plain);
    REQUIRE(plain != forward(shape, BatchNormPath::fast));
    CHECK(forward(shape, BatchNormPath::by_size) == plain);
  }
  // From 4096 values on: the fast path (the bench's MLP S, the demo's test set, an (N, C, L)).
  for (const Shape& shape : {Shape{64, 64}, Shape{128, 64}, Shape{300, 64}, Shape{8, 8, 64}}) {
    CAPTURE(shape);
    const std::vector<float> fast = forward(shape, BatchNormPath::fast);
    REQUIRE(fast != forward(shape, BatchNormPath::plain));
    CHECK(forward(shape, BatchNormPath::by_size) == fast);
  }
}

TEST_CASE("BatchNorm1d's plain loops: sum_per_channel adds what the element walk adds bit for bit",
          "[batchnorm1d][paths]") {
  // The plain loops' sums keep their running sums in locals; the additions, and so the results,
  // must be those of adding every element into its channel's sum in memory order.
  using mg::nn::batchnorm1d_walk::sum_per_channel;
  mg::Generator gen(11);
  for (const Shape& shape : {Shape{32, 10}, Shape{7, 64}, Shape{5, 3}, Shape{3, 17}, Shape{4, 9, 5},
                             Shape{2, 8, 33}, Shape{1, 1}}) {
    CAPTURE(shape);
    mg::Tensor x = mg::Tensor::randn(shape, gen);
    for (float& v : x.flat()) v = v * 1e3f + 7.f;  // sums whose rounding shows the order
    const float* xs = std::as_const(x).data();
    const mg::nn::batchnorm1d_fast::Layout s{shape[0], shape[1], shape.rank() == 3 ? shape[2] : 1};
    const auto square = [xs](int64_t i, int64_t c) { return double(xs[i]) * xs[i] + double(c); };
    const auto value = [xs](int64_t i, int64_t) { return double(xs[i]); };
    std::vector<double> walked(2 * s.C, 0.5), summed(2 * s.C, 0.5);  // sums start from 0.5
    for (int64_t i = 0; i < s.numel(); ++i) {  // memory order; element i is in channel i / L % C
      const int64_t c = i / s.L % s.C;
      walked[c] += value(i, c);
      walked[s.C + c] += square(i, c);
    }
    sum_per_channel(s, {summed.data(), summed.data() + s.C}, value, square);
    CHECK(summed == walked);
  }
}

// Float data near float's largest value: where x - mean passes it (|mean| above 1e31) the fast
// path's float arithmetic would overflow to inf, and an eval backward would give 0 * inf = NaN;
// a backward sum of dy * (x - mean) over 16 rows overflows float when each term is near 3e38.
// Both paths must give the values computed here in double (one channel, weight 1, bias 0).
TEST_CASE("BatchNorm1d: both paths stay exact where x - mean passes float's largest value",
          "[batchnorm1d][paths]") {
  struct Case {
    std::vector<float> x;
    bool training;
    double running_mean, running_var;  // used in eval
  };
  std::vector<float> alternating;  // mean 0, but dy * x_hat sums to 32 terms of 3e38
  for (int b = 0; b < 32; ++b) alternating.push_back(b % 2 ? -3e38f : 3e38f);
  const std::vector<Case> cases = {
      {{3e38f, 2e38f, 2e38f, 2e38f}, false, -3e38, 1e30},  // x - running_mean = 5e38..6e38
      {{3e38f, -3e38f, -3e38f, -3e38f}, true, 0, 1},       // batch mean -1.5e38
      {alternating, true, 0, 1},
  };
  for (const Case& k : cases) {
    const int64_t n = static_cast<int64_t>(k.x.size());
    double mean = k.running_mean, var = k.running_var;
    if (k.training) {
      mean = 0, var = 0;
      for (float v : k.x) mean += v / double(n);
      for (float v : k.x) var += (v - mean) * (v - mean) / double(n);
    }
    const double s = 1 / std::sqrt(var + 1e-5);
    std::vector<double> x_hat, dy;  // dy = sign(x): sum(dy * x_hat) does not cancel
    double sum_dy = 0, sum_dy_x_hat = 0;
    for (float v : k.x) {
      x_hat.push_back((v - mean) * s);
      dy.push_back(v > 0 ? 1.0 : -1.0);
      sum_dy += dy.back();
      sum_dy_x_hat += dy.back() * x_hat.back();
    }
    for (BatchNormPath path : {BatchNormPath::plain, BatchNormPath::fast}) {
      CAPTURE(k.x[0], k.x[1], k.training, path == BatchNormPath::fast);
      const ForcePath force(path);
      mg::nn::BatchNorm1d bn(1);
      bn.running_mean.flat().setConstant(float(k.running_mean));
      bn.running_var.flat().setConstant(float(k.running_var));
      bn.train(k.training);
      const mg::Tensor x = mg::Tensor::from_vector(k.x, Shape{n, 1}, /*requires_grad=*/true);
      const mg::Tensor y = bn.forward(x);
      y.backward(mg::Tensor::from_vector(std::vector<float>(dy.begin(), dy.end()), Shape{n, 1}));
      for (int64_t b = 0; b < n; ++b) {
        CHECK(y.at(b, 0) == Approx(x_hat[b]).epsilon(1e-6));
        const double dx =
            k.training ? s / n * (n * dy[b] - sum_dy - x_hat[b] * sum_dy_x_hat) : s * dy[b];
        CHECK(std::isfinite(x.grad().at(b, 0)));
        if (!k.training) CHECK(x.grad().at(b, 0) == Approx(dx).epsilon(1e-6));
      }
      CHECK(bn.weight.grad().at(0) == Approx(sum_dy_x_hat).epsilon(1e-6));
      CHECK(bn.bias.grad().at(0) == Approx(sum_dy).margin(1e-6));
    }
  }
}

TEST_CASE("BatchNorm1d: data whose spread leaves float's range runs the plain loops throughout",
          "[batchnorm1d][paths]") {
  // Each case is large enough for the fast path. Its statistics fail fast_path_holds: squares of
  // deviations of 1e-20 fall to float's denormals and gamma inv_std^2 overflows with eps = 0;
  // at scale 1e30 inv_std^2 underflows; a channel holding +inf has an infinite mean. The layer
  // must then give what the plain loops give, bit for bit: statistics, y and every gradient
  // (before, the fast path gave 6400 infinite or NaN dx in the first case, dx 10% off in the
  // second and a NaN running_mean in the third).
  struct Case {
    const char* what;
    Shape shape;
    double scale, offset, eps;
    bool with_inf;
  };
  const std::vector<Case> cases = {
      {"spread 1e-20, eps 0", Shape{128, 64}, 1e-20, 3e-20, 0, false},
      {"spread 1e-20, eps 0, (N, C, L)", Shape{16, 8, 64}, 1e-20, 3e-20, 0, false},
      {"scale 1e30", Shape{128, 64}, 1e30, 0, 1e-5, false},
      {"a channel holding +inf", Shape{128, 64}, 1, 0, 1e-5, true},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    auto step = [&k](BatchNormPath path) {
      const ForcePath force(path);
      mg::Generator gen(11);
      mg::Tensor x = mg::Tensor::randn(k.shape, gen);
      x.flat() = x.flat() * float(k.scale) + float(k.offset);
      if (k.with_inf) x.flat()(5 * k.shape[1]) = std::numeric_limits<float>::infinity();
      x.set_requires_grad(true);
      const mg::Tensor dy = mg::Tensor::randn(k.shape, gen);
      mg::nn::BatchNorm1d bn(k.shape[1], {.eps = k.eps});
      bn.weight.flat() = mg::Tensor::randn(Shape{k.shape[1]}, gen).flat();
      const mg::Tensor y = bn.forward(x);
      y.backward(dy);
      return std::vector<std::vector<float>>{
          y.to_vector(),        bn.running_mean.to_vector(),  bn.running_var.to_vector(),
          x.grad().to_vector(), bn.weight.grad().to_vector(), bn.bias.grad().to_vector()};
    };
    const auto plain = step(BatchNormPath::plain);
    const auto chosen = step(BatchNormPath::by_size);
    for (size_t a = 0; a < plain.size(); ++a) {
      CAPTURE(a);
      bool same = plain[a].size() == chosen[a].size();
      for (size_t i = 0; same && i < plain[a].size(); ++i)
        same = plain[a][i] == chosen[a][i] || (std::isnan(plain[a][i]) && std::isnan(chosen[a][i]));
      CHECK(same);
    }
    if (!k.with_inf) {  // and the plain loops' gradient is finite
      bool finite = true;
      for (float v : plain[3]) finite = finite && std::isfinite(v);
      CHECK(finite);
    }
  }
}

TEST_CASE("BatchNorm1d: an extreme gamma keeps the fast path's gradient finite and exact",
          "[batchnorm1d][paths]") {
  // Statistics inside the fast path's limits, but gamma inv_std^2 beyond float's range in the
  // backward's coefficient (gamma 1e12, std 1e-14, eps 0: 1e40) or below it (gamma 1e-20, std
  // 1e14: 1e-48). The fast backward takes those channels' dx in double; before, 2816 of 4096 dx
  // were inf or NaN in the first case and dx was 8% off in the second.
  struct Case {
    const char* what;
    double scale, gamma, eps;
  };
  // Also split over 2 threads (4096 rows), and with dx accumulated into a gradient (two backwards).
  for (const Case& k : {Case{"gamma 1e12, std 1e-14", 1e-14, 1e12, 0.0},
                        Case{"gamma 1e-20, std 1e14", 1e14, 1e-20, 1e-5}})
    for (const int64_t N : {256, 4096}) {
      CAPTURE(k.what, N);
      omp_set_num_threads(2);
      auto dx = [&k, N](BatchNormPath path) {
        const ForcePath force(path);
        mg::Generator gen(13);
        mg::Tensor x = mg::Tensor::randn(Shape{N, 16}, gen);
        x.flat() *= float(k.scale);
        x.set_requires_grad(true);
        const mg::Tensor dy = mg::Tensor::randn(Shape{N, 16}, gen);
        mg::nn::BatchNorm1d bn(16, {.eps = k.eps});
        bn.weight.flat().setConstant(float(k.gamma));
        const mg::Tensor y = bn.forward(x);
        y.backward(dy, /*retain_graph=*/true);
        if (N > 256) y.backward(dy);  // dx += the same again
        return x.grad().to_vector();
      };
      const std::vector<float> plain = dx(BatchNormPath::plain), fast = dx(BatchNormPath::fast);
      double largest = 0, worst_error = 0;
      bool finite = true;
      for (size_t i = 0; i < plain.size(); ++i) {
        finite = finite && std::isfinite(fast[i]);
        largest = std::max(largest, std::abs(double(plain[i])));
        worst_error = std::max(worst_error, std::abs(double(fast[i]) - double(plain[i])));
      }
      CHECK(finite);
      CHECK(worst_error <= 1e-5 * largest);
    }
  omp_set_num_threads(1);
}

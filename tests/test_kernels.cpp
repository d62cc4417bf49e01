// The fast kernels against the plain references they replace (layers/batchnorm1d_kernels.*).
// Shapes are chosen to reach every path of the fast versions: one block holding every channel,
// several blocks of 16 channels with a ragged last one, (N, C, L) runs, and inputs large enough
// to be split over threads.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/random.hpp"
#include "layers/batchnorm1d_kernels.hpp"

namespace {

using mg::nn::kernels::BnLayout;

template <typename T>
std::vector<T> random_values(int64_t n, double offset, uint64_t seed) {
  mg::Generator gen(seed);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& x : v) x = static_cast<T>(offset + gen.normal());
  return v;
}

// Worst |a - b| / (1 + |b|) over two arrays.
template <typename A, typename B>
double worst(const std::vector<A>& a, const std::vector<B>& b) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i)
    w = std::max(w, std::abs(double(a[i]) - double(b[i])) / (1 + std::abs(double(b[i]))));
  return w;
}

const std::vector<BnLayout> kLayouts = {
    {32, 10, 1},    // one block with every channel
    {3000, 37, 1},  // blocks of 16, 16 and 5 channels; large enough for threads
    {5, 3, 7},      // (N, C, L): one channel per block
    {64, 20, 300},  // (N, C, L), threaded
    {2, 1, 1},      // the smallest batch with a variance
};

template <typename T>
void check_forward_and_backward(BnLayout s, bool affine, double tol) {
  CAPTURE(s.N, s.C, s.L, affine);
  const std::vector<T> x = random_values<T>(s.numel(), 3.0, 1);  // mean far from 0
  const std::vector<T> dy = random_values<T>(s.numel(), 0.5, 2);
  const std::vector<T> gamma = random_values<T>(s.C, 0.0, 3), beta = random_values<T>(s.C, 0.0, 4);
  const T* g = affine ? gamma.data() : nullptr;
  const T* b = affine ? beta.data() : nullptr;
  const size_t C = static_cast<size_t>(s.C), n = static_cast<size_t>(s.numel());

  // training forward: statistics and y
  std::vector<double> mean_r(C), m2_r(C), inv_r(C), mean_f(C), m2_f(C), inv_f(C);
  std::vector<T> y_r(n), y_f(n);
  mg::nn::kernels::bn_forward_train_reference(x.data(), s, g, b, 1e-5, mean_r.data(), m2_r.data(),
                                              inv_r.data(), y_r.data());
  mg::nn::kernels::bn_forward_train_fast(x.data(), s, g, b, 1e-5, mean_f.data(), m2_f.data(),
                                         inv_f.data(), y_f.data());
  // The fast float kernels sum 16 rows in float before folding into double: a few float ulps
  // of the values summed, where the references add every value in double.
  const double stat_tol = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  CHECK(worst(mean_f, mean_r) < stat_tol);
  CHECK(worst(m2_f, m2_r) < stat_tol * static_cast<double>(s.n()));
  CHECK(worst(inv_f, inv_r) < stat_tol);
  CHECK(worst(y_f, y_r) < tol);

  // eval forward with the same statistics
  mg::nn::kernels::bn_forward_eval_reference(x.data(), s, g, b, mean_r.data(), inv_r.data(),
                                             y_r.data());
  mg::nn::kernels::bn_forward_eval_fast(x.data(), s, g, b, mean_r.data(), inv_r.data(), y_f.data());
  CHECK(worst(y_f, y_r) < tol);

  // backward, with batch or given statistics, into a fresh or an accumulating gradient
  for (bool batch_stats : {true, false})
    for (bool accumulate : {false, true}) {
      CAPTURE(batch_stats, accumulate);
      std::vector<double> sd_r(C), sdx_r(C), sd_f(C), sdx_f(C);
      std::vector<T> dx_r = random_values<T>(s.numel(), 0.0, 5), dx_f = dx_r;
      const mg::nn::kernels::BnBackwardArgs args{mean_r.data(), inv_r.data(), batch_stats,
                                                 accumulate};
      mg::nn::kernels::bn_backward_reference(x.data(), dy.data(), s, g, args, sd_r.data(),
                                             sdx_r.data(), dx_r.data());
      mg::nn::kernels::bn_backward_fast(x.data(), dy.data(), s, g, args, sd_f.data(), sdx_f.data(),
                                        dx_f.data());
      CHECK(worst(sd_f, sd_r) < stat_tol * static_cast<double>(s.n()));
      CHECK(worst(sdx_f, sdx_r) < stat_tol * static_cast<double>(s.n()));
      CHECK(worst(dx_f, dx_r) < tol);
    }
}

}  // namespace

TEST_CASE("fast BatchNorm1d kernels equal the reference ones, float and double", "[kernels]") {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const BnLayout& s : kLayouts)
      for (bool affine : {true, false}) {
        check_forward_and_backward<float>(s, affine, 1e-5);
        check_forward_and_backward<double>(s, affine, 1e-12);
      }
  }
  omp_set_num_threads(1);
}

TEST_CASE("fast BatchNorm1d kernels: a constant channel with eps = 0 gives y = beta", "[kernels]") {
  const BnLayout s{4, 2, 1};
  const std::vector<float> x = {1, 5, 1, 6, 1, 7, 1, 8};  // channel 0 constant
  const std::vector<float> gamma = {2, 2}, beta = {0.5f, 0.5f};
  std::vector<double> mean(2), m2(2), inv_std(2);
  std::vector<float> y(8);
  mg::nn::kernels::bn_forward_train_fast(x.data(), s, gamma.data(), beta.data(), 0.0, mean.data(),
                                         m2.data(), inv_std.data(), y.data());
  CHECK(inv_std[0] == 0.0);
  for (int b = 0; b < 4; ++b) CHECK(y[static_cast<size_t>(2 * b)] == 0.5f);
  CHECK(mean[1] == Approx(6.5));
  CHECK(m2[1] == Approx(5.0));  // (1.5^2 + 0.5^2) * 2
}

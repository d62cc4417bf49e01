// mg::gemm (core/gemm.cpp): every size class (Eigen on one thread, Eigen on OpenMP's threads,
// the BLAS) and every transpose gives op(A) op(B) + beta C, checked against the product of the
// same values in double; beta = 0 never reads C; calls from two application threads at once
// give the results of calls made one after the other.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <type_traits>

#include "core/error.hpp"
#include "core/gemm.hpp"

namespace {

template <typename T>
using RowMatrix = mg::RowMatrix<T>;

// A (rows, cols) matrix of values in [-1, 1], different for every seed.
template <typename T>
RowMatrix<T> filled(int64_t rows, int64_t cols, int seed) {
  RowMatrix<T> m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i)
    m.data()[i] = static_cast<T>(std::sin(0.7 * double(i) + 1.3 * seed));
  return m;
}

// Worst |got - want| / max(1, max |want|), want computed in double.
template <typename T>
double error_of(const RowMatrix<T>& got, const Eigen::MatrixXd& want) {
  return (got.template cast<double>() - want).cwiseAbs().maxCoeff() /
         std::max(1.0, want.cwiseAbs().maxCoeff());
}

template <typename T>
void check_product(int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  CAPTURE(M, N, K, ta, tb, sizeof(T));
  const RowMatrix<T> a = filled<T>(ta ? K : M, ta ? M : K, 1);  // stored as op() reads it
  const RowMatrix<T> b = filled<T>(tb ? N : K, tb ? K : N, 2);
  const RowMatrix<T> c0 = filled<T>(M, N, 3);
  const Eigen::MatrixXd op_a = ta ? Eigen::MatrixXd(a.template cast<double>().transpose())
                                  : Eigen::MatrixXd(a.template cast<double>());
  const Eigen::MatrixXd op_b = tb ? Eigen::MatrixXd(b.template cast<double>().transpose())
                                  : Eigen::MatrixXd(b.template cast<double>());
  const Eigen::MatrixXd product = op_a * op_b;
  // float: K terms each rounded to 2^-24, relative to the largest output.
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;

  RowMatrix<T> c = RowMatrix<T>::Constant(M, N, std::numeric_limits<T>::quiet_NaN());
  mg::gemm<T>(a, ta, b, tb, T(0), c);  // beta = 0: the NaNs in c are overwritten, not read
  CHECK(error_of(c, product) < tol);

  c = c0;
  mg::gemm<T>(a, ta, b, tb, T(1), c);  // beta = 1: accumulates
  CHECK(error_of(c, product + c0.template cast<double>()) < tol);

  c = c0;
  mg::gemm<T>(a, ta, b, tb, T(0.5), c);
  CHECK(error_of(c, product + 0.5 * c0.template cast<double>()) < tol);
}

}  // namespace

TEST_CASE("gemm: op(A) op(B) + beta C for every size class and transpose", "[gemm]") {
  // M * N * K: 2^15 (Eigen, one thread), 2^22 (Eigen, OpenMP's threads), 2^24 (the BLAS when
  // one was found; Eigen otherwise), and an empty K (C = beta C).
  struct Size {
    int64_t M, N, K;
  };
  // Thin products (a side below 32) of 2^23 multiply-adds and more: Eigen, on one thread when M
  // or K is the thin side.
  for (const Size s :
       {Size{32, 32, 32}, Size{128, 256, 128}, Size{256, 256, 256}, Size{257, 131, 509},
        Size{3, 5, 0}, Size{600, 8, 2000}, Size{8, 600, 2000}, Size{600, 2000, 8}}) {
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          check_product<float>(s.M, s.N, s.K, ta, tb);
          check_product<double>(s.M, s.N, s.K, ta, tb);
        }
    }
  }
  omp_set_num_threads(1);
}

TEST_CASE("gemm: leaves the caller's thread count as it found it", "[gemm]") {
  omp_set_num_threads(2);
  const RowMatrix<float> a = filled<float>(8, 8, 1), b = filled<float>(8, 8, 2);
  RowMatrix<float> c(8, 8);
  mg::gemm<float>(a, false, b, false, 0.f, c);  // small: runs on this thread alone
  CHECK(omp_get_max_threads() == 2);
  omp_set_num_threads(1);
}

TEST_CASE("gemm: two threads multiplying at once get what each would alone", "[gemm]") {
  // Large enough for the BLAS (2^24 multiply-adds); each thread its own matrices. Every call on
  // two OpenMP threads, as the threads' calls below: a product split over another number of
  // threads may round differently.
  omp_set_num_threads(2);
  const RowMatrix<float> a1 = filled<float>(256, 256, 1), b1 = filled<float>(256, 256, 2);
  const RowMatrix<float> a2 = filled<float>(256, 256, 3), b2 = filled<float>(256, 256, 4);
  RowMatrix<float> alone1(256, 256), alone2(256, 256);
  mg::gemm<float>(a1, false, b1, true, 0.f, alone1);
  mg::gemm<float>(a2, true, b2, false, 0.f, alone2);
  RowMatrix<float> c1(256, 256), c2(256, 256);
  for (int round = 0; round < 20; ++round) {
    std::thread t1([&] {
      omp_set_num_threads(2);
      mg::gemm<float>(a1, false, b1, true, 0.f, c1);
    });
    std::thread t2([&] {
      omp_set_num_threads(2);
      mg::gemm<float>(a2, true, b2, false, 0.f, c2);
    });
    t1.join();
    t2.join();
    REQUIRE(c1 == alone1);
    REQUIRE(c2 == alone2);
  }
  omp_set_num_threads(1);
}

TEST_CASE("gemm: a thin product runs on Eigen's GEMM whatever its size", "[gemm]") {
  // 600x8x2000 is 2^23.2 multiply-adds, above the BLAS's threshold, but 8 outputs per row are
  // too few for the BLAS's blocking: the result is Eigen's, bit for bit.
  omp_set_num_threads(1);
  const RowMatrix<float> a = filled<float>(600, 2000, 1), b = filled<float>(8, 2000, 2);
  RowMatrix<float> c(600, 8), eigen(600, 8);
  mg::gemm<float>(a, false, b, true, 0.f, c);
  eigen.noalias() = a * b.transpose();
  CHECK(c == eigen);
}

TEST_CASE("gemm: names what runs the large products", "[gemm]") {
  const std::string name = mg::gemm_backend_name();
  CHECK((name.rfind("OpenBLAS ", 0) == 0 || name.rfind("Eigen ", 0) == 0));
}

TEST_CASE("gemm: c may be the same matrix as a or b, in every size class", "[gemm]") {
  // c = op(a) op(b) + beta c written into a (or b, or both) must equal the product of the
  // values before the call: Eigen's noalias() and BLAS would read what they already wrote.
  for (int64_t n : {8, 160, 256}) {  // Eigen on one thread, Eigen on OpenMP's threads, the BLAS
    for (double beta : {0.0, 1.0}) {
      for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        CAPTURE(n, beta, ta, tb);
        const RowMatrix<double> a0 = filled<double>(n, n, 1), b0 = filled<double>(n, n, 2);
        const Eigen::MatrixXd op_a = ta ? Eigen::MatrixXd(a0.transpose()) : Eigen::MatrixXd(a0);
        const Eigen::MatrixXd op_b = tb ? Eigen::MatrixXd(b0.transpose()) : Eigen::MatrixXd(b0);
        const Eigen::MatrixXd op_a_a =
            op_a * (tb ? Eigen::MatrixXd(a0.transpose()) : Eigen::MatrixXd(a0));

        RowMatrix<double> a = a0;
        mg::gemm<double>(a, ta, b0, tb, beta, a);  // c is a
        CHECK(error_of(a, op_a * op_b + beta * Eigen::MatrixXd(a0)) < 1e-13);

        RowMatrix<double> b = b0;
        mg::gemm<double>(a0, ta, b, tb, beta, b);  // c is b
        CHECK(error_of(b, op_a * op_b + beta * Eigen::MatrixXd(b0)) < 1e-13);

        RowMatrix<double> s = a0;
        mg::gemm<double>(s, ta, s, tb, beta, s);  // c is a and b
        CHECK(error_of(s, op_a_a + beta * Eigen::MatrixXd(a0)) < 1e-13);
      }
    }
  }
  // A block of a matrix as c, overlapping a block of the same matrix as a.
  RowMatrix<float> m = filled<float>(6, 6, 3);
  const RowMatrix<float> m0 = m;
  const RowMatrix<float> b = filled<float>(3, 3, 4);
  mg::gemm<float>(m.block(0, 0, 3, 3), false, b, false, 0.f, m.block(1, 1, 3, 3));
  const Eigen::MatrixXd want = m0.block(0, 0, 3, 3).cast<double>() * b.cast<double>();
  CHECK(error_of(RowMatrix<float>(m.block(1, 1, 3, 3)), want) < 1e-6);
  CHECK(m(0, 0) == m0(0, 0));  // outside c: untouched
}

TEST_CASE("gemm: sizes that do not make a product throw and write nothing", "[gemm]") {
  const RowMatrix<float> a = filled<float>(2, 3, 1);
  RowMatrix<float> c = RowMatrix<float>::Zero(2, 5);
  CHECK_THROWS_MATCHES(mg::gemm<float>(a, false, filled<float>(4, 5, 2), false, 0.f, c),
                       mg::ShapeError,
                       Catch::Message("gemm: expected op(a) (M, K), op(b) (K, N) and c (M, N), "
                                      "got op(a) (2, 3), op(b) (4, 5) and c (2, 5)"));
  CHECK(c.isZero());
  RowMatrix<float> c3 = RowMatrix<float>::Zero(3, 5);
  CHECK_THROWS_WITH(mg::gemm<float>(a, false, filled<float>(3, 5, 2), false, 0.f, c3),
                    "gemm: expected op(a) (M, K), op(b) (K, N) and c (M, N), got op(a) (2, 3), "
                    "op(b) (3, 5) and c (3, 5)");
  CHECK_THROWS_WITH(mg::gemm<float>(a, true, filled<float>(3, 5, 2), false, 0.f, c),
                    "gemm: expected op(a) (M, K), op(b) (K, N) and c (M, N), got op(a) (3, 2), "
                    "op(b) (3, 5) and c (2, 5)");
}

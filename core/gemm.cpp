// mg::gemm: where a product runs. Legend: op(A) is (M, K), op(B) is (K, N), C is (M, N); the
// work of a product is M * N * K multiply-adds.
//
// Where a product runs depends on its size (the measurements are in docs/performance.md,
// "Choosing the BLAS"):
//   - from kBlasWork multiply-adds on, OpenBLAS when the build found it (MINIGRAD_WITH_OPENBLAS).
//     Its AVX-512 kernels run the MLP benchmark's products 1.3-1.6x faster than Eigen's GEMM here;
//   - below, Eigen's GEMM. OpenBLAS would be faster there too, but its results depend on the
//     kernels it chose when it was loaded (by CPU, or by the OPENBLAS_CORETYPE variable), each
//     rounding in its own order. Every product of the demo, of the figures in docs/ and of the
//     tests is below kBlasWork (the largest: evaluating 1200 samples through a 64-wide layer,
//     4.9M), so those results are the same bits on any machine that runs the same build;
//   - a thin product (a side below kThinSide, like a classifier's 10 outputs) on Eigen's GEMM
//     whatever its size: on the L step's three thin products OpenBLAS ran at 0.72-0.95x Eigen's
//     rate on one thread, and at 0.35x on two for 1024x10x2048;
//   - below kThreadWork (about 10 µs of arithmetic) on the calling thread alone: splitting such a
//     product costs more than it saves (an MLP step on 128-sample batches ran 1.7x slower on 2
//     threads than on 1). So is a product whose M or K is thin, whatever its size: measured, Eigen
//     ran those slower on 2 threads than on 1 (10x2048x1024: 41 against 58 GFLOP/s; 256x512x10:
//     70 against 104), while a thin N splits well (1024x10x2048: 102 against 58). From
//     kThreadWork on, otherwise, on OpenMP's threads (omp_set_num_threads, OMP_NUM_THREADS), as
//     the rest of minigrad.
//
// How a long inner dimension is summed. A product adds K terms into each output. Eigen's GEMM,
// like a BLAS, keeps a few hundred of them in float registers and adds those partial sums into
// C; but for a product with one output row or column it takes its matrix-vector path, where
// each output is a chain of K float additions, and for a single output (a dot product) a scalar
// chain: K = 10^5 terms of 1.001 came out 5.2e-4 off, and a dot product of 10^7 values around
// 10^4 14% off. So a thin product (a side below kThinSide, which always runs on Eigen) with K
// above kDepthBlock is taken kDepthBlock deep at a time, each block on Eigen's GEMM as usual,
// and the blocks' products are added in double, compensated; a single output is a pairwise sum
// in double of the K products (core/summation.hpp). The error of a float product then grows with
// kDepthBlock, not K. Every product with K up to kDepthBlock, the MLP benchmark's included
// (K 2048 at most), is computed as before, bit for bit.
#include "core/gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

#ifdef MINIGRAD_WITH_OPENBLAS
#include <cblas.h>
#endif

#include "core/error.hpp"
#include "core/summation.hpp"

namespace mg {
namespace {

[[maybe_unused]] constexpr double kBlasWork = double(int64_t{1} << 23);  // M * N * K (BLAS)
constexpr double kThreadWork = double(int64_t{1} << 21);                 // M * N * K multiply-adds
constexpr int64_t kThinSide = 32;
constexpr int64_t kDepthBlock = 2048;  // the longest K a thin product sums in float

// While alive, parallel regions started by this thread get one thread: Eigen's GEMM and OpenBLAS's
// OpenMP build ask omp_get_max_threads() how many to use (Eigen's, as long as Eigen::setNbThreads
// was never called).
// The setting belongs to the calling thread only, and is restored on exit.
class OneThread {
 public:
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_ = omp_get_max_threads();
};

template <typename T>
void eigen_gemm(const Eigen::Ref<const RowMatrix<T>>& a, bool transpose_a,
                const Eigen::Ref<const RowMatrix<T>>& b, bool transpose_b, T beta,
                Eigen::Ref<RowMatrix<T>> c) {
  if (beta == T(0)) {
    c.setZero();  // c's old values are not read, NaN included
  } else if (beta != T(1)) {
    c *= beta;
  }
  // c += op(a) op(b): four spellings, so that Eigen sees each transpose and packs accordingly.
  if (transpose_a && transpose_b) {
    c.noalias() += a.transpose() * b.transpose();
  } else if (transpose_a) {
    c.noalias() += a.transpose() * b;
  } else if (transpose_b) {
    c.noalias() += a * b.transpose();
  } else {
    c.noalias() += a * b;
  }
}

// eigen_gemm for a thin product with K > kDepthBlock (see the top of the file): the blocks'
// products are added in double, compensated, and a single output is one pairwise sum of the K
// products.
template <typename T>
void deep_thin_gemm(const Eigen::Ref<const RowMatrix<T>>& a, bool transpose_a,
                    const Eigen::Ref<const RowMatrix<T>>& b, bool transpose_b, T beta,
                    Eigen::Ref<RowMatrix<T>> c) {
  const int64_t M = c.rows(), N = c.cols(), K = transpose_a ? a.rows() : a.cols();
  using Wide = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Wide total(M, N);  // (M, N)
  if (M == 1 && N == 1) {
    const T* pa = a.data();  // op(a)[0, k] is pa[k * step_a]
    const T* pb = b.data();  // op(b)[k, 0] is pb[k * step_b]
    const int64_t step_a = transpose_a ? a.outerStride() : 1;
    const int64_t step_b = transpose_b ? 1 : b.outerStride();
    total(0, 0) = pairwise_sum(0, K, [=](int64_t k) {
      return static_cast<double>(pa[k * step_a]) * static_cast<double>(pb[k * step_b]);
    });
  } else {
    // total + lost: the blocks' products added with Neumaier's compensation (lost keeps what
    // each addition rounded off), so that in float64 too adding K / kDepthBlock blocks costs
    // no more than one rounding.
    total.setZero();
    Wide lost = Wide::Zero(M, N);
    RowMatrix<T> part(M, N);  // (M, N): one block's product
    for (int64_t k0 = 0; k0 < K; k0 += kDepthBlock) {
      const int64_t depth = std::min(kDepthBlock, K - k0);
      // op(a)[:, k0 .. k0 + depth) and op(b)[k0 .. k0 + depth, :], as stored
      eigen_gemm<T>(transpose_a ? a.block(k0, 0, depth, M) : a.block(0, k0, M, depth), transpose_a,
                    transpose_b ? b.block(0, k0, N, depth) : b.block(k0, 0, depth, N), transpose_b,
                    T(0), part);
      for (int64_t i = 0; i < M * N; ++i) {
        const double s = total.data()[i], x = part.data()[i], t = s + x;
        lost.data()[i] += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
        total.data()[i] = t;
      }
    }
    total += lost;
  }
  if (beta != T(0)) total += static_cast<double>(beta) * c.template cast<double>();
  c = total.template cast<T>();  // beta = 0: c's old values are not read, NaN included
}

#ifdef MINIGRAD_WITH_OPENBLAS
// OpenBLAS's CBLAS, row-major; leading dimensions are the rows' strides. Its OpenMP build runs a
// call on omp_get_max_threads() threads.
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const double* a,
               int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}
#endif

// Whether two matrices share memory. Each spans [data, data + (rows - 1) * outerStride + cols).
// Compared as integers: ordering pointers into unrelated arrays is not defined in C++.
template <typename T, typename X, typename Y>
bool overlap(const X& x, const Y& y) {
  if (x.size() == 0 || y.size() == 0) return false;
  const auto span = [](const auto& m) {
    const auto begin = reinterpret_cast<std::uintptr_t>(m.data());
    const int64_t count = (m.rows() - 1) * m.outerStride() + m.cols();
    return std::pair{begin, begin + static_cast<std::uintptr_t>(count) * sizeof(T)};
  };
  const auto [x_begin, x_end] = span(x);
  const auto [y_begin, y_end] = span(y);
  return x_begin < y_end && y_begin < x_end;
}

}  // namespace

template <typename T>
void gemm(Eigen::Ref<const RowMatrix<T>> a, bool transpose_a, Eigen::Ref<const RowMatrix<T>> b,
          bool transpose_b, T beta, Eigen::Ref<RowMatrix<T>> c) {
  const int64_t M = c.rows(), N = c.cols(), K = transpose_a ? a.rows() : a.cols();
  const int64_t a_rows = transpose_a ? a.cols() : a.rows();
  const int64_t b_rows = transpose_b ? b.cols() : b.rows(),
                b_cols = transpose_b ? b.rows() : b.cols();
  if (a_rows != M || b_rows != K || b_cols != N) {
    fail<ShapeError>(
        "gemm: expected op(a) (M, K), op(b) (K, N) and c (M, N), got op(a) ({}, {}), op(b) ({}, "
        "{}) and c ({}, {})",
        a_rows, K, b_rows, b_cols, M, N);
  }
  // c written while a or b is read (c = a b with c the same matrix as a): Eigen's noalias()
  // products and BLAS both assume they do not overlap (beta = 0 even clears c first), so the
  // product is taken of copies of the operands instead.
  if (overlap<T>(a, c) || overlap<T>(b, c)) {
    const RowMatrix<T> a_copy = a, b_copy = b;
    gemm<T>(a_copy, transpose_a, b_copy, transpose_b, beta, c);
    return;
  }
  const double work = double(M) * double(N) * double(K);
  std::optional<OneThread> one_thread;
  if (work < kThreadWork || std::min(M, K) < kThinSide) one_thread.emplace();
  if (std::min(M, N) < kThinSide && K > kDepthBlock) {
    deep_thin_gemm<T>(a, transpose_a, b, transpose_b, beta, c);
    return;
  }
#ifdef MINIGRAD_WITH_OPENBLAS
  const bool thin = std::min({M, N, K}) < kThinSide;
  // CBLAS takes int sizes and strides: anything larger stays with Eigen.
  const int64_t largest = std::max({M, N, K, a.outerStride(), b.outerStride(), c.outerStride()});
  if (work >= kBlasWork && !thin && largest < INT_MAX) {
    blas_gemm(transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              int(M), int(N), int(K), a.data(), int(a.outerStride()), b.data(),
              int(b.outerStride()), beta, c.data(), int(c.outerStride()));
    return;
  }
#endif
  eigen_gemm<T>(a, transpose_a, b, transpose_b, beta, c);
}

std::string gemm_backend_name() {
#ifdef MINIGRAD_WITH_OPENBLAS
  // OpenBLAS chose its kernels when it was loaded: from OPENBLAS_CORETYPE when that is set,
  // otherwise from the CPU.
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  std::string name = OPENBLAS_VERSION;  // " OpenBLAS 0.3.21 "
  name = name.substr(1, name.size() - 2) + ", " + openblas_get_corename() + " kernels (";
  name += forced ? std::string("OPENBLAS_CORETYPE=") + forced : std::string("chosen from the CPU");
  return name + (openblas_get_parallel() == OPENBLAS_OPENMP ? ")" : "), not its OpenMP build");
#else
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
         std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION);
#endif
}

template void gemm<float>(Eigen::Ref<const RowMatrix<float>>, bool,
                          Eigen::Ref<const RowMatrix<float>>, bool, float,
                          Eigen::Ref<RowMatrix<float>>);
template void gemm<double>(Eigen::Ref<const RowMatrix<double>>, bool,
                           Eigen::Ref<const RowMatrix<double>>, bool, double,
                           Eigen::Ref<RowMatrix<double>>);

}  // namespace mg

// The one matrix product minigrad's ops and layers call (matmul, Linear and their backwards):
//   C = op(A) op(B) + beta C,   op(X) = X or X^T,   every matrix row-major
// Small products run Eigen's GEMM on the calling thread; large ones run on a BLAS when the build
// found one (OpenBLAS), with OpenMP's thread count. docs/performance.md ("Choosing the BLAS") has
// the measurements behind both choices.
#pragma once

#include <string>

#include <Eigen/Core>

namespace mg {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// c = op(a) op(b) + beta c, with op(a): (M, K), op(b): (K, N), c: (M, N); other sizes throw
// mg::ShapeError. beta = 0 overwrites c (its old values are never read, NaN included); beta = 1
// accumulates. c may share memory with a or b (c = a b into a itself): the product then reads
// copies of them.
template <typename T>
void gemm(Eigen::Ref<const RowMatrix<T>> a, bool transpose_a, Eigen::Ref<const RowMatrix<T>> b,
          bool transpose_b, T beta, Eigen::Ref<RowMatrix<T>> c);

// What runs the large products, for benchmarks and logs: "Eigen 3.4.0" or
// "OpenBLAS 0.3.21, SkylakeX kernels".
std::string gemm_backend_name();

}  // namespace mg

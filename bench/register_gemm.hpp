// A trial, not used by minigrad: the plainest register-blocked SGEMM, to see whether a kernel of
// minigrad's own could run the small products of the MLP step S faster than Eigen's GEMM
// (docs/performance.md, "Where the time goes"). `bench_gemm register` times it on the same
// requests as the real candidates.
//
// C (M, N) = op(A) op(B): op(B) is copied, 256 rows (k) at a time, into a panel of 32 columns
// (zero past N); an 8-row block of C's 32 columns is then held in 16 AVX-512 registers (two
// vectors of 16 floats per row) while k runs down the panel, each step one broadcast of
// op(A)(i, k) per row and two loads of the panel's row k. op(A) is read in place through its
// strides. Written with GCC's vector extensions, so the compiler allocates the registers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace bench::register_gemm {

typedef float Vec16 __attribute__((vector_size(64)));  // 16 floats, one AVX-512 register
constexpr int kCols = 32;                              // a panel's width: two Vec16
constexpr int kRows = 8;                               // rows of C per register block
constexpr int kDepth = 256;                            // rows of op(B) per panel

// The block c[i, j] (i < R, j < width) = beta * c + sum over k < depth of a(i, k) panel(k, j),
// a(i, k) = a[i * a_row + k * a_col].
template <int R>
void block(int depth, const float* a, int64_t a_row, int64_t a_col, const float* panel, float beta,
           float* c, int64_t ldc, int width) {
  Vec16 acc[R][2] = {};
  for (int k = 0; k < depth; ++k) {
    Vec16 b0, b1;
    std::memcpy(&b0, panel + k * kCols, sizeof b0);
    std::memcpy(&b1, panel + k * kCols + 16, sizeof b1);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const float x = a[i * a_row + k * a_col];
      acc[i][0] += x * b0;
      acc[i][1] += x * b1;
    }
  }
  for (int i = 0; i < R; ++i) {
    float sum[kCols];
    std::memcpy(sum, acc[i], sizeof sum);
    for (int j = 0; j < width; ++j)
      c[i * ldc + j] = beta == 0.f ? sum[j] : beta * c[i * ldc + j] + sum[j];
  }
}

// A block of R rows or fewer (the last rows of C).
template <int R = kRows>
void rows(int r, int depth, const float* a, int64_t a_row, int64_t a_col, const float* panel,
          float beta, float* c, int64_t ldc, int width) {
  if constexpr (R > 0) {
    if (r == R) return block<R>(depth, a, a_row, a_col, panel, beta, c, ldc, width);
    rows<R - 1>(r, depth, a, a_row, a_col, panel, beta, c, ldc, width);
  }
}

// c = op(a) op(b), every matrix row-major: a is (K, M) when ta, b is (N, K) when tb.
inline void sgemm(bool ta, bool tb, int M, int N, int K, const float* a, const float* b, float* c) {
  static std::vector<float> panel(size_t(kDepth) * kCols);
  const int64_t a_row = ta ? 1 : K, a_col = ta ? M : 1;  // op(a)(i, k) = a[i a_row + k a_col]
  const int64_t b_row = tb ? 1 : N, b_col = tb ? K : 1;  // op(b)(k, j) = b[k b_row + j b_col]
  for (int k0 = 0; k0 < std::max(K, 1); k0 += kDepth) {
    const int depth = std::min(kDepth, K - k0);
    const float beta = k0 == 0 ? 0.f : 1.f;
    for (int j0 = 0; j0 < N; j0 += kCols) {
      const int width = std::min(kCols, N - j0);
      for (int k = 0; k < depth; ++k) {
        float* row = panel.data() + size_t(k) * kCols;
        const float* from = b + (k0 + k) * b_row + j0 * b_col;
        for (int j = 0; j < width; ++j) row[j] = from[j * b_col];
        std::fill(row + width, row + kCols, 0.f);
      }
      for (int i0 = 0; i0 < M; i0 += kRows)
        rows(std::min(kRows, M - i0), depth, a + i0 * a_row + k0 * a_col, a_row, a_col,
             panel.data(), beta, c + int64_t(i0) * N + j0, N, width);
    }
  }
}

}  // namespace bench::register_gemm

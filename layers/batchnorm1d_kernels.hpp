// BatchNorm1d's loops, each written twice: a plain `_reference` version that reads like the math
// (one phase at a time, every element in memory order, every sum in double;
// batchnorm1d_kernels_reference.cpp) and a `_fast` version that layers/batchnorm1d.cpp calls
// (batchnorm1d_kernels.cpp). tests/test_kernels.cpp proves that both give the same results.
//
// What the fast versions do differently (docs/performance.md has the measurements):
//   - rows are streamed in memory order with one partial sum per channel (the inner loop runs
//     over a row's contiguous channels, or over a channel's contiguous run of L, so it
//     vectorises);
//   - partial sums are kept in T over at most 16 rows, then added into double: float's SIMD
//     width, double's accumulation. The mean's pass sums x - x0 (x0 a value of the channel) and
//     x - mean is taken against the mean split into two floats, so float keeps its digits even
//     when |mean| >> std;
//   - the variance's two passes run on chunks of rows small enough to stay in cache, and the
//     chunks' statistics are merged exactly, so x is read from memory once for the statistics;
//     the backward's two sums share one pass;
//   - per-channel constants are computed once, so an element costs a subtract and a multiply-add;
//   - large inputs split the rows over OpenMP threads, each with its own accumulators (small
//     ones stay on one thread: starting threads costs more than the work);
//   - no allocation: per-channel scratch is kept per thread between calls.
//
// Legend: N = batch, C = channels, L = length (1 for (N, C) input), n = N * L values per
// channel. The statistics and sums handed back are double.
#pragma once

#include <cstdint>

namespace mg::nn::kernels {

// x seen as (N, C, L), row-major: element (b, c, l) is at (b * C + c) * L + l.
struct BnLayout {
  int64_t N, C, L;
  int64_t n() const { return N * L; }
  int64_t numel() const { return N * C * L; }
};

// What the backward reads besides x, dy and gamma.
struct BnBackwardArgs {
  const double* mean;     // (C) batch mean, or running_mean in eval
  const double* inv_std;  // (C) 1 / sqrt(var + eps)
  bool batch_stats;       // the forward used batch statistics (the mean/var paths exist)
  bool accumulate;        // dx += ... (dx already holds a gradient) instead of dx = ...
};

// 1 / sqrt(var + eps); 0 for a constant channel when eps == 0 (PyTorch does the same).
double inverse_std(double var, double eps);

// Training forward: mean, m2 = sum((x - mean)^2), inv_std (all (C)), and y = scale * (x - mean)
// + beta. gamma and beta may be null (gamma = 1, beta = 0).
template <typename T>
void bn_forward_train_reference(const T* x, BnLayout s, const T* gamma, const T* beta, double eps,
                                double* mean, double* m2, double* inv_std, T* y);
template <typename T>
void bn_forward_train_fast(const T* x, BnLayout s, const T* gamma, const T* beta, double eps,
                           double* mean, double* m2, double* inv_std, T* y);

// Forward with given statistics (eval): y = gamma * inv_std * (x - mean) + beta.
template <typename T>
void bn_forward_eval_reference(const T* x, BnLayout s, const T* gamma, const T* beta,
                               const double* mean, const double* inv_std, T* y);
template <typename T>
void bn_forward_eval_fast(const T* x, BnLayout s, const T* gamma, const T* beta, const double* mean,
                          const double* inv_std, T* y);

// Backward: sum_dy = sum(dy), sum_dy_xc = sum(dy * (x - mean)) (both (C), in double), and, when
// dx is not null, dx (=, or += with args.accumulate) = a * dy + b * (x - mean) + k.
template <typename T>
void bn_backward_reference(const T* x, const T* dy, BnLayout s, const T* gamma, BnBackwardArgs args,
                           double* sum_dy, double* sum_dy_xc, T* dx);
template <typename T>
void bn_backward_fast(const T* x, const T* dy, BnLayout s, const T* gamma, BnBackwardArgs args,
                      double* sum_dy, double* sum_dy_xc, T* dx);

}  // namespace mg::nn::kernels

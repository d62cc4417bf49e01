// BatchNorm1d's FAST PATH: the same arithmetic as the plain loops in layers/batchnorm1d.cpp,
// reorganised for inputs too large for the cache. layers/batchnorm1d.cpp chooses it, above a
// measured size, in one place (`choose_loops`); below that size, the plain loops are as fast or
// faster and are what runs. tests/test_batchnorm1d_paths.cpp proves the two paths give the same
// results. Start reading at the plain loops: this file only changes how they run.
//
// What it does differently, and why (docs/performance.md has the measurements):
//   - the plain loops walk one channel at a time and compute every element in double; here
//     rows are streamed in memory order with one partial sum per channel (the inner loop runs
//     over a row's contiguous channels, or over a channel's contiguous run of L), in T, so it
//     vectorises at T's SIMD width;
//   - partial sums are kept in T over at most 16 rows, then added into double: float's SIMD
//     width, double's accumulation. The mean's pass sums x - x0 (x0 a value of the channel) and
//     x - mean is taken against the mean split into two floats, so float keeps its digits even
//     when |mean| >> std. A chunk whose float sum overflows (|x - mean| near 1e19 in float32) is
//     summed again in double, so the statistics overflow only where the plain path's do; so
//     are the backward's sums. Where x - mean itself can pass T's largest value (|mean| above
//     1e31 in float), or std is so small or large that squares or gamma inv_std^2 leave T's
//     normal range (`fast_path_holds`), layers/batchnorm1d.cpp runs the plain loops instead;
//   - the variance's two passes run on chunks of rows small enough to stay in cache, and the
//     chunks' statistics are merged exactly, so x is read from memory once for the statistics;
//     the backward's two sums share one pass;
//   - per-channel constants are computed once, so an element costs a subtract and a multiply-add;
//   - large inputs split the rows over OpenMP threads, each with its own accumulators (small
//     ones stay on one thread: starting threads costs more than the work);
//   - no allocation: per-channel scratch is kept per thread between calls;
//   - outputs of 4 MiB and more (y, and dx when it is a fresh gradient) are written with
//     non-temporal stores, which skip reading the lines they overwrite.
//
// Legend: N = batch, C = channels, L = length (1 for (N, C) input), n = N * L values per
// channel. The statistics and sums handed back are double.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace mg::nn::batchnorm1d_fast {

// x seen as (N, C, L), row-major: element (b, c, l) is at (b * C + c) * L + l.
struct Layout {
  int64_t N, C, L;
  int64_t n() const { return N * L; }
  int64_t numel() const { return N * C * L; }
};

// What a backward reads besides x, dy and gamma.
struct BackwardArgs {
  const double* mean;     // (C) batch mean, or running_mean in eval
  const double* inv_std;  // (C) 1 / sqrt(var + eps)
  bool batch_stats;       // the forward used batch statistics (the mean/var paths exist)
  bool accumulate;        // dx += ... (dx already holds a gradient) instead of dx = ...
};

// Whether the fast path's arithmetic in T holds for these statistics and gamma (C channels
// each; gamma may be null: 1). Three limits, all met by any data not near T's limits:
//   - it takes x - mean in T; for a finite x, |x - mean| <= |x| + |mean| rounds past T's largest
//     value only when |mean| is above half an ulp of it (2^103, about 1e31, in float);
//   - its sums square deviations of the size of std in T, and its backward multiplies by
//     inv_std^2 in T: both keep all their digits while var + eps = 1 / inv_std^2 lies in
//     [2^e, 2^-e], e = T's smallest normal exponent plus its digits (2^-101 to 2^101 in float:
//     std from about 1e-15 to 1e15). Outside, squares of 1e-20 fall to float's denormals and
//     inv_std^2 overflows (eps = 0), or inv_std^2 underflows (data of scale 1e30);
//   - y = (gamma inv_std) (x - mean) + beta takes gamma inv_std in T: 0 or a normal T.
// (The backward's per-channel coefficients also depend on dy; it checks them itself and takes
// the channels' dx in double where they do not fit T.) A NaN or infinite mean fails the first:
// those statistics are recomputed by the plain loops.
template <typename T>
bool fits_normal(double v) {
  return v == 0 || (std::abs(v) >= double(std::numeric_limits<T>::min()) &&
                    std::abs(v) <= double(std::numeric_limits<T>::max()));
}
template <typename T>
bool fast_path_holds(const double* mean, const double* inv_std, const T* gamma, int64_t C) {
  using limits = std::numeric_limits<T>;
  constexpr double kLimit = double(limits::max()) * limits::epsilon() / 4;
  const double inv_lo = std::ldexp(1.0, (limits::min_exponent + limits::digits) / 2);
  const double inv_hi = 1 / inv_lo;
  for (int64_t c = 0; c < C; ++c) {
    if (!(std::abs(mean[c]) < kLimit)) return false;
    if (!(inv_std[c] >= inv_lo && inv_std[c] <= inv_hi)) return false;
    if (!fits_normal<T>((gamma ? double(gamma[c]) : 1.0) * inv_std[c])) return false;
  }
  return true;
}

// 1 / sqrt(var + eps); 0 for a constant channel of the batch when eps == 0 (PyTorch's training
// forward does the same; a zero running variance with eps == 0 is refused before, by the
// layer's check_input). Both paths use it.
inline double inverse_std(double var, double eps) {
  return var == 0 && eps == 0 ? 0.0 : 1.0 / std::sqrt(var + eps);
}

// The three loops, with the plain path's signatures (layers/batchnorm1d.cpp):
// Training forward: mean, var (biased), inv_std (all (C)), and y = gamma * x_hat + beta.
// gamma and beta may be null (gamma = 1, beta = 0).
template <typename T>
void forward_train(const T* x, Layout s, const T* gamma, const T* beta, double eps, double* mean,
                   double* var, double* inv_std, T* y);
// Forward with given statistics (eval): y = gamma * inv_std * (x - mean) + beta.
template <typename T>
void forward_eval(const T* x, Layout s, const T* gamma, const T* beta, const double* mean,
                  const double* inv_std, T* y);
// Backward: sum_dy = sum(dy) and sum_dy_x_hat = sum(dy * x_hat) (both (C), in double: dbeta
// and dgamma), and, when dx is not null, dx (=, or += with args.accumulate), the closed form.
template <typename T>
void backward(const T* x, const T* dy, Layout s, const T* gamma, BackwardArgs args, double* sum_dy,
              double* sum_dy_x_hat, T* dx);

}  // namespace mg::nn::batchnorm1d_fast

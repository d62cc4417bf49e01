// BatchNorm1d's fast path (what it changes, and why, is listed in batchnorm1d_fast.hpp; the plain
// loops it is tested against are in batchnorm1d.cpp).
// Legend: N = batch, C = channels, L = length, n = N * L values per channel, K = how many sums
// one pass accumulates, b = a row (sample), c = a channel, i = an element's index in x. How rows
// are streamed (scratch, threads, sums folded into double) is in batchnorm1d_fast_rows.hpp.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "layers/batchnorm1d_fast.hpp"
#include "layers/batchnorm1d_fast_rows.hpp"

namespace mg::nn::batchnorm1d_fast {
namespace {

// Rows of x whose statistics are computed together: they stay in L2 (1 MiB per core here)
// between the two passes a stable variance needs, so x is read from memory once. Half of L2:
// every chunk ends with its partial sums reduced into double and its statistics merged, and a
// 256 KiB chunk held only two samples of 128x256 (N, C, L) input: 64x128x256 forward 817 -> 704
// µs, the (N, C) shapes unchanged (`bench/compare_builds.py --restarts 2`).
constexpr int64_t kChunkBytes = 512 * 1024;
// A channel's mean as two T: hi = T(mean), lo = T(mean - hi). For x near the mean, x - hi is
// exact (Sterbenz), so (x - hi) - lo is x - mean to T's precision even when |mean| >> std, where
// x - T(mean) would keep only the digits the rounding of the mean left.
template <typename T>
struct SplitMean {
  T* hi;
  T* lo;
};

template <typename T, int Slot>
SplitMean<T> split_mean(const double* mean, int64_t C) {
  T* p = scratch<T, Slot>(2 * C);
  for (int64_t c = 0; c < C; ++c) {
    p[c] = static_cast<T>(mean[c]);
    p[C + c] = static_cast<T>(mean[c] - p[c]);
  }
  return {p, p + C};
}

// Merges the statistics (count nb, mean mb, m2 qb) of a part into (na, ma, qa), per channel:
// the exact pairwise update of Chan, Golub and LeVeque.
void merge_stats(int64_t C, double na, double* ma, double* qa, double nb, const double* mb,
                 const double* qb) {
  const double n = na + nb;
  for (int64_t c = 0; c < C; ++c) {
    const double delta = mb[c] - ma[c];
    ma[c] += delta * nb / n;
    qa[c] += qb[c] + delta * delta * na * nb / n;
  }
}

// Statistics of rows [b0, b1) into mean, m2 (C each): chunk by chunk, two passes per chunk.
template <typename T>
void stats_of_rows(const T* x, Layout s, int64_t b0, int64_t b1, double* mean, double* m2) {
  const int64_t rows = std::max<int64_t>(1, kChunkBytes / (s.C * s.L * int64_t(sizeof(T))));
  double* chunk = scratch<double, 0>(2 * s.C);  // (2, C): the chunk's mean, m2
  double *cm = chunk, *cq = chunk + s.C;
  double done = 0;  // values per channel merged so far
  for (int64_t r0 = b0; r0 < b1; r0 += rows) {
    const int64_t r1 = std::min(b1, r0 + rows);
    const double count = static_cast<double>((r1 - r0) * s.L);
    double* m = done == 0 ? mean : cm;  // the first chunk goes straight to the output
    double* q = done == 0 ? m2 : cq;
    std::fill_n(m, s.C, 0.0);
    std::fill_n(q, s.C, 0.0);
    // Pass 1 sums x - x0, x0 being the chunk's first value in the channel: the float partial
    // sums then hold the spread of the values, not their size, and keep its digits.
    T* x0 = scratch<T, 6>(s.C);
    for (int64_t c = 0; c < s.C; ++c) x0[c] = x[(r0 * s.C + c) * s.L];
    sum_rows<T>(s, r0, r1, {m}, [x, x0](int64_t i, int64_t c) { return x[i] - x0[c]; });
    if (!all_finite(m, s.C)) {  // a float sum overflowed: again in double
      std::fill_n(m, s.C, 0.0);
      sum_rows_in_double(s, r0, r1, m, [x, x0](int64_t i, int64_t c) {
        return static_cast<double>(x[i]) - static_cast<double>(x0[c]);
      });
    }
    for (int64_t c = 0; c < s.C; ++c) m[c] = x0[c] + m[c] / count;
    const SplitMean<T> mu = split_mean<T, 4>(m, s.C);
    sum_rows<T>(s, r0, r1, {q}, [x, mu](int64_t i, int64_t c) {
      const T d = (x[i] - mu.hi[c]) - mu.lo[c];
      return d * d;
    });
    if (!all_finite(q, s.C)) {  // (x - mean)^2 beyond float's range (|x - mean| ~ 1e19)
      std::fill_n(q, s.C, 0.0);
      sum_rows_in_double(s, r0, r1, q, [x, m](int64_t i, int64_t c) {
        const double d = static_cast<double>(x[i]) - m[c];
        return d * d;
      });
    }
    if (done > 0) merge_stats(s.C, done, mean, m2, count, cm, cq);
    done += count;
  }
}

// The elementwise pass of the forward, y = scale (x - mu) + shift per channel, with
// scale = gamma * inv_std, mu = T(mean) and shift = beta - scale * (mean - mu): the part of the
// mean that T cannot hold moves into the shift, computed in double.
template <typename T>
struct Normalise {
  T *scale, *mu, *shift;  // (C) each, in per-thread scratch of the thread that made them

  Normalise(Layout s, const T* gamma, const T* beta, const double* mean, const double* inv_std)
      : scale(scratch<T, 1>(3 * s.C)), mu(scale + s.C), shift(scale + 2 * s.C) {
    for (int64_t c = 0; c < s.C; ++c) {
      const double g = (gamma ? gamma[c] : 1.0) * inv_std[c];
      scale[c] = static_cast<T>(g);
      mu[c] = static_cast<T>(mean[c]);
      shift[c] = static_cast<T>((beta ? beta[c] : 0.0) - g * (mean[c] - mu[c]));
    }
  }
  void rows(const T* x, Layout s, int64_t b0, int64_t b1, T* y) const {
    write_rows(s, b0, b1, y, stream_output(s, sizeof(T)),
               [x, scale = scale, mu = mu, shift = shift](int64_t i, int64_t c) {
                 return scale[c] * (x[i] - mu[c]) + shift[c];
               });
  }
};

}  // namespace

template <typename T>
void forward_eval(const T* x, Layout s, const T* gamma, const T* beta, const double* mean,
                  const double* inv_std, T* y) {
  const Normalise<T> f(s, gamma, beta, mean, inv_std);
  run_team(threads_for(s), [&](int t, int nt) {
    const auto [b0, b1] = share(s.N, t, nt);
    f.rows(x, s, b0, b1, y);
  });
}

template <typename T>
void forward_train(const T* x, Layout s, const T* gamma, const T* beta, double eps, double* mean,
                   double* var, double* inv_std, T* y) {
  const int nt = threads_for(s);
  double* m2 = var;  // sum((x - mean)^2) until the division by n below
  double* parts = scratch<double, 2>(2 * s.C * nt);  // (nt, 2, C): each thread's mean, m2
  run_team(nt, [&](int t, int team) {
    const auto [b0, b1] = share(s.N, t, team);
    double* own_mean = team == 1 ? mean : parts + 2 * s.C * t;
    double* own_m2 = team == 1 ? m2 : own_mean + s.C;
    stats_of_rows(x, s, b0, b1, own_mean, own_m2);
#pragma omp barrier
#pragma omp single
    {
      if (team > 1) {
        std::copy_n(parts, s.C, mean);
        std::copy_n(parts + s.C, s.C, m2);
        for (int u = 1; u < team; ++u) {
          const double na = double(share(s.N, u, team).first * s.L);  // values before part u
          const auto [u0, u1] = share(s.N, u, team);
          merge_stats(s.C, na, mean, m2, double((u1 - u0) * s.L), parts + 2 * s.C * u,
                      parts + 2 * s.C * u + s.C);
        }
      }
      for (int64_t c = 0; c < s.C; ++c) {
        var[c] = m2[c] / double(s.n());
        inv_std[c] = inverse_std(var[c], eps);
      }
    }
    const Normalise<T> f(s, gamma, beta, mean, inv_std);  // each thread its own: C values
    f.rows(x, s, b0, b1, y);
  });
}

template <typename T>
void backward(const T* x, const T* dy, Layout s, const T* gamma, BackwardArgs args, double* sum_dy,
              double* sum_dy_x_hat, T* dx) {
  const int nt = threads_for(s);
  const double n = static_cast<double>(s.n());
  double* parts = scratch<double, 2>(2 * s.C * nt);  // (nt, 2, C): each thread's two sums
  const SplitMean<T> mu = split_mean<T, 5>(args.mean, s.C);
  T* coef = scratch<T, 1>(3 * s.C);  // (3, C): a, b, k' with dx = a dy + b (x - mu.hi) + k'
  T *a = coef, *bc = coef + s.C, *k = coef + 2 * s.C;
  // The same coefficients in double, with dx = a dy + b (x - mean) + k: where one of a channel's
  // does not fit T (fits_normal: an extreme gamma, or dy), dx is taken in double from these.
  double* exact = scratch<double, 7>(3 * s.C);  // 7: no slot a double T uses
  bool fit = true;
  run_team(nt, [&](int t, int team) {
    const auto [b0, b1] = share(s.N, t, team);
    // sum(dy * (x - mean)) first; times inv_std, it becomes sum(dy * x_hat) below.
    double* sd = team == 1 ? sum_dy : parts + 2 * s.C * t;
    double* sdx = team == 1 ? sum_dy_x_hat : sd + s.C;
    std::fill_n(sd, s.C, 0.0);
    std::fill_n(sdx, s.C, 0.0);
    sum_rows<T>(
        s, b0, b1, {sd, sdx}, [dy](int64_t i, int64_t) { return dy[i]; },
        [x, dy, mu](int64_t i, int64_t c) { return dy[i] * ((x[i] - mu.hi[c]) - mu.lo[c]); });
    if (!all_finite(sd, s.C) || !all_finite(sdx, s.C)) {  // a float sum overflowed: in double
      std::fill_n(sd, s.C, 0.0);
      std::fill_n(sdx, s.C, 0.0);
      sum_rows_in_double(s, b0, b1, sd, [dy](int64_t i, int64_t) { return double(dy[i]); });
      sum_rows_in_double(s, b0, b1, sdx, [x, dy, m = args.mean](int64_t i, int64_t c) {
        return dy[i] * (static_cast<double>(x[i]) - m[c]);
      });
    }
#pragma omp barrier
#pragma omp single
    {
      for (int u = 0; team > 1 && u < team; ++u)
        for (int64_t c = 0; c < s.C; ++c) {
          sum_dy[c] = (u ? sum_dy[c] : 0.0) + parts[2 * s.C * u + c];
          sum_dy_x_hat[c] = (u ? sum_dy_x_hat[c] : 0.0) + parts[2 * s.C * u + s.C + c];
        }
      for (int64_t c = 0; c < s.C; ++c) sum_dy_x_hat[c] *= args.inv_std[c];
      // The plain loops' dx = (gamma s / n) (n dy - sum(dy) - x_hat sum(dy x_hat)), multiplied
      // out per channel as a dy + b (x - mean) + k, with x - mean split as above.
      for (int64_t c = 0; dx && c < s.C; ++c) {
        const double inv = args.inv_std[c];
        const double ac = (gamma ? gamma[c] : 1.0) * inv;
        const double bcc = args.batch_stats ? -ac * inv * sum_dy_x_hat[c] / n : 0;
        const double kc = args.batch_stats ? -ac * sum_dy[c] / n : 0;
        a[c] = static_cast<T>(ac);
        bc[c] = static_cast<T>(bcc);
        k[c] = static_cast<T>(kc - bcc * mu.lo[c]);
        exact[c] = ac, exact[s.C + c] = bcc, exact[2 * s.C + c] = kc;
        fit = fit && fits_normal<T>(ac) && fits_normal<T>(bcc) && fits_normal<T>(kc);
      }
    }
    if (!dx) return;
    if (!fit) {  // in double, element by element (rare: data or gamma near T's limits)
      const double *ea = exact, *eb = exact + s.C, *ek = exact + 2 * s.C;
      for (int64_t i = b0 * s.C * s.L; i < b1 * s.C * s.L; ++i) {
        const int64_t c = i / s.L % s.C;
        const T v = static_cast<T>(ea[c] * dy[i] + eb[c] * (x[i] - args.mean[c]) + ek[c]);
        dx[i] = args.accumulate ? dx[i] + v : v;
      }
      return;
    }
    if (args.accumulate) {
      map_rows(s, b0, b1, [x, dy, dx, a, bc, k, hi = mu.hi](int64_t i, int64_t c) {
        dx[i] += a[c] * dy[i] + bc[c] * (x[i] - hi[c]) + k[c];
      });
    } else {
      write_rows(s, b0, b1, dx, stream_output(s, sizeof(T)),
                 [x, dy, a, bc, k, hi = mu.hi](int64_t i, int64_t c) {
                   return a[c] * dy[i] + bc[c] * (x[i] - hi[c]) + k[c];
                 });
    }
  });
}

template void forward_train(const float*, Layout, const float*, const float*, double, double*,
                            double*, double*, float*);
template void forward_eval(const float*, Layout, const float*, const float*, const double*,
                           const double*, float*);
template void backward(const float*, const float*, Layout, const float*, BackwardArgs, double*,
                       double*, float*);
template void forward_train(const double*, Layout, const double*, const double*, double, double*,
                            double*, double*, double*);
template void forward_eval(const double*, Layout, const double*, const double*, const double*,
                           const double*, double*);
template void backward(const double*, const double*, Layout, const double*, BackwardArgs, double*,
                       double*, double*);

}  // namespace mg::nn::batchnorm1d_fast

// BatchNorm1d's loops: the plain references first, then the fast versions (what they change is
// in batchnorm1d_kernels.hpp). Legend: N = batch, C = channels, L = length, n = N * L,
// w = channels in a block, b = a row (sample), j = a channel within the block.
#include "layers/batchnorm1d_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace mg::nn::kernels {

double inverse_std(double var, double eps) {
  return var == 0 && eps == 0 ? 0.0 : 1.0 / std::sqrt(var + eps);
}

// ---- references: one phase at a time, every element in memory order ----

template <typename T>
void bn_forward_eval_reference(const T* x, BnLayout s, const T* gamma, const T* beta,
                               const double* mean, const double* inv_std, T* y) {
  for (int64_t b = 0; b < s.N; ++b)
    for (int64_t c = 0; c < s.C; ++c) {
      const T scale = static_cast<T>((gamma ? gamma[c] : 1.0) * inv_std[c]);
      const T mu = static_cast<T>(mean[c]);
      const T shift = beta ? beta[c] : T(0);
      for (int64_t l = 0; l < s.L; ++l) {
        const int64_t i = (b * s.C + c) * s.L + l;
        y[i] = scale * (x[i] - mu) + shift;
      }
    }
}

template <typename T>
void bn_forward_train_reference(const T* x, BnLayout s, const T* gamma, const T* beta, double eps,
                                double* mean, double* m2, double* inv_std, T* y) {
  std::fill_n(mean, s.C, 0.0);
  std::fill_n(m2, s.C, 0.0);
  for (int64_t i = 0; i < s.numel(); ++i) mean[i / s.L % s.C] += x[i];
  for (int64_t c = 0; c < s.C; ++c) mean[c] /= static_cast<double>(s.n());
  for (int64_t i = 0; i < s.numel(); ++i) {
    const double d = x[i] - mean[i / s.L % s.C];
    m2[i / s.L % s.C] += d * d;
  }
  for (int64_t c = 0; c < s.C; ++c) inv_std[c] = inverse_std(m2[c] / s.n(), eps);
  bn_forward_eval_reference(x, s, gamma, beta, mean, inv_std, y);
}

template <typename T>
void bn_backward_reference(const T* x, const T* dy, BnLayout s, const T* gamma, BnBackwardArgs args,
                           double* sum_dy, double* sum_dy_xc, T* dx) {
  std::fill_n(sum_dy, s.C, 0.0);
  std::fill_n(sum_dy_xc, s.C, 0.0);
  for (int64_t i = 0; i < s.numel(); ++i) {
    const int64_t c = i / s.L % s.C;
    sum_dy[c] += dy[i];
    sum_dy_xc[c] += static_cast<double>(dy[i]) * (x[i] - args.mean[c]);
  }
  if (!dx) return;
  const double n = static_cast<double>(s.n());
  for (int64_t i = 0; i < s.numel(); ++i) {
    const int64_t c = i / s.L % s.C;
    const double inv = args.inv_std[c];
    const T a = static_cast<T>((gamma ? gamma[c] : 1.0) * inv);
    const T bc = static_cast<T>(args.batch_stats ? -a * inv * inv * sum_dy_xc[c] / n : 0);
    const T k = static_cast<T>(args.batch_stats ? -a * sum_dy[c] / n : 0);
    const T v = a * dy[i] + bc * (x[i] - static_cast<T>(args.mean[c])) + k;
    dx[i] = args.accumulate ? dx[i] + v : v;
  }
}

// ---- fast versions ----
// Rows (samples) are streamed in memory order with one accumulator per channel, in chunks of a
// few rows that stay in cache between the two passes a stable variance needs; the chunks'
// statistics are merged exactly (Chan et al.). Large inputs split the rows over the OpenMP
// threads, each with its own accumulators, merged before the elementwise pass.
namespace {

constexpr int64_t kChunkBytes = 64 * 1024;  // one chunk of rows of x: fits in L2 with room
// Below this many elements everything runs on one thread: a parallel region costs a few µs.
constexpr int64_t kParallelElements = int64_t{1} << 18;

int threads_for(BnLayout s) {
  return s.numel() >= kParallelElements ? std::min<int>(omp_get_max_threads(), int(s.N)) : 1;
}

// Per-thread scratch, kept between calls so that a training step allocates nothing. `Slot`
// separates buffers that are alive at the same time.
template <typename T, int Slot>
T* scratch(int64_t count) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

// Runs body(t, nt) on nt threads (inline when nt == 1: no parallel region at all). The body may
// use `omp barrier` and `omp single`; outside a parallel region they are no-ops.
template <typename F>
void run_team(int nt, F body) {
  if (nt == 1) return body(0, 1);
#pragma omp parallel num_threads(nt)
  body(omp_get_thread_num(), omp_get_num_threads());
}

// Thread t's contiguous share [b0, b1) of the N rows.
std::pair<int64_t, int64_t> share(int64_t N, int t, int nt) {
  return {N * t / nt, N * (t + 1) / nt};
}

// acc[c] += g(i, c) over the elements i of rows [b0, b1), c being i's channel.
template <typename F>
void accumulate_rows(BnLayout s, int64_t b0, int64_t b1, double* acc, F g) {
  for (int64_t b = b0; b < b1; ++b) {
    if (s.L == 1) {
#pragma omp simd
      for (int64_t c = 0; c < s.C; ++c) acc[c] += g(b * s.C + c, c);
      continue;
    }
    for (int64_t c = 0; c < s.C; ++c) {
      const int64_t o = (b * s.C + c) * s.L;
      double run = 0;
#pragma omp simd reduction(+ : run)
      for (int64_t l = 0; l < s.L; ++l) run += g(o + l, c);
      acc[c] += run;
    }
  }
}

// f(i, c) for every element of rows [b0, b1); elementwise, so the inner loop vectorises.
template <typename F>
void map_rows(BnLayout s, int64_t b0, int64_t b1, F f) {
  for (int64_t b = b0; b < b1; ++b) {
    if (s.L == 1) {
#pragma omp simd
      for (int64_t c = 0; c < s.C; ++c) f(b * s.C + c, c);
      continue;
    }
    for (int64_t c = 0; c < s.C; ++c) {
      const int64_t o = (b * s.C + c) * s.L;
#pragma omp simd
      for (int64_t l = 0; l < s.L; ++l) f(o + l, c);
    }
  }
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
void stats_of_rows(const T* x, BnLayout s, int64_t b0, int64_t b1, double* mean, double* m2) {
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
    accumulate_rows(s, r0, r1, m, [&](int64_t i, int64_t) { return double(x[i]); });
    for (int64_t c = 0; c < s.C; ++c) m[c] /= count;
    accumulate_rows(s, r0, r1, q, [&](int64_t i, int64_t c) {
      const double d = x[i] - m[c];
      return d * d;
    });
    if (done > 0) merge_stats(s.C, done, mean, m2, count, cm, cq);
    done += count;
  }
}

}  // namespace

template <typename T>
void bn_forward_eval_fast(const T* x, BnLayout s, const T* gamma, const T* beta, const double* mean,
                          const double* inv_std, T* y) {
  T* coef = scratch<T, 1>(3 * s.C);  // (3, C): scale, mu, shift
  T *scale = coef, *mu = coef + s.C, *shift = coef + 2 * s.C;
  for (int64_t c = 0; c < s.C; ++c) {
    scale[c] = static_cast<T>((gamma ? gamma[c] : 1.0) * inv_std[c]);
    mu[c] = static_cast<T>(mean[c]);
    shift[c] = beta ? beta[c] : T(0);
  }
  run_team(threads_for(s), [&](int t, int nt) {
    const auto [b0, b1] = share(s.N, t, nt);
    map_rows(s, b0, b1, [&](int64_t i, int64_t c) { y[i] = scale[c] * (x[i] - mu[c]) + shift[c]; });
  });
}

template <typename T>
void bn_forward_train_fast(const T* x, BnLayout s, const T* gamma, const T* beta, double eps,
                           double* mean, double* m2, double* inv_std, T* y) {
  const int nt = threads_for(s);
  double* parts = scratch<double, 2>(2 * s.C * nt);  // (nt, 2, C): each thread's mean, m2
  T* coef = scratch<T, 1>(3 * s.C);                  // (3, C): scale, mu, shift
  T *scale = coef, *mu = coef + s.C, *shift = coef + 2 * s.C;
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
        inv_std[c] = inverse_std(m2[c] / static_cast<double>(s.n()), eps);
        scale[c] = static_cast<T>((gamma ? gamma[c] : 1.0) * inv_std[c]);
        mu[c] = static_cast<T>(mean[c]);
        shift[c] = beta ? beta[c] : T(0);
      }
    }
    map_rows(s, b0, b1, [&](int64_t i, int64_t c) { y[i] = scale[c] * (x[i] - mu[c]) + shift[c]; });
  });
}

template <typename T>
void bn_backward_fast(const T* x, const T* dy, BnLayout s, const T* gamma, BnBackwardArgs args,
                      double* sum_dy, double* sum_dy_xc, T* dx) {
  const int nt = threads_for(s);
  const double n = static_cast<double>(s.n());
  double* parts = scratch<double, 2>(2 * s.C * nt);  // (nt, 2, C): each thread's two sums
  T* coef = scratch<T, 1>(4 * s.C);                  // (4, C): a, b, mu, k as in the reference
  T *a = coef, *bc = coef + s.C, *mu = coef + 2 * s.C, *k = coef + 3 * s.C;
  run_team(nt, [&](int t, int team) {
    const auto [b0, b1] = share(s.N, t, team);
    double* sd = team == 1 ? sum_dy : parts + 2 * s.C * t;
    double* sdx = team == 1 ? sum_dy_xc : sd + s.C;
    std::fill_n(sd, s.C, 0.0);
    std::fill_n(sdx, s.C, 0.0);
    accumulate_rows(s, b0, b1, sd, [&](int64_t i, int64_t) { return double(dy[i]); });
    accumulate_rows(s, b0, b1, sdx, [&](int64_t i, int64_t c) {
      return static_cast<double>(dy[i]) * (x[i] - args.mean[c]);
    });
#pragma omp barrier
#pragma omp single
    {
      for (int u = 0; team > 1 && u < team; ++u)
        for (int64_t c = 0; c < s.C; ++c) {
          sum_dy[c] = (u ? sum_dy[c] : 0.0) + parts[2 * s.C * u + c];
          sum_dy_xc[c] = (u ? sum_dy_xc[c] : 0.0) + parts[2 * s.C * u + s.C + c];
        }
      for (int64_t c = 0; dx && c < s.C; ++c) {
        const double inv = args.inv_std[c];
        a[c] = static_cast<T>((gamma ? gamma[c] : 1.0) * inv);
        bc[c] = static_cast<T>(args.batch_stats ? -a[c] * inv * inv * sum_dy_xc[c] / n : 0);
        mu[c] = static_cast<T>(args.mean[c]);
        k[c] = static_cast<T>(args.batch_stats ? -a[c] * sum_dy[c] / n : 0);
      }
    }
    if (!dx) return;
    if (args.accumulate) {
      map_rows(s, b0, b1, [&](int64_t i, int64_t c) {
        dx[i] += a[c] * dy[i] + bc[c] * (x[i] - mu[c]) + k[c];
      });
    } else {
      map_rows(s, b0, b1,
               [&](int64_t i, int64_t c) { dx[i] = a[c] * dy[i] + bc[c] * (x[i] - mu[c]) + k[c]; });
    }
  });
}

template void bn_forward_train_reference(const float*, BnLayout, const float*, const float*, double,
                                         double*, double*, double*, float*);
template void bn_forward_train_fast(const float*, BnLayout, const float*, const float*, double,
                                    double*, double*, double*, float*);
template void bn_forward_eval_reference(const float*, BnLayout, const float*, const float*,
                                        const double*, const double*, float*);
template void bn_forward_eval_fast(const float*, BnLayout, const float*, const float*,
                                   const double*, const double*, float*);
template void bn_backward_reference(const float*, const float*, BnLayout, const float*,
                                    BnBackwardArgs, double*, double*, float*);
template void bn_backward_fast(const float*, const float*, BnLayout, const float*, BnBackwardArgs,
                               double*, double*, float*);
template void bn_forward_train_reference(const double*, BnLayout, const double*, const double*,
                                         double, double*, double*, double*, double*);
template void bn_forward_train_fast(const double*, BnLayout, const double*, const double*, double,
                                    double*, double*, double*, double*);
template void bn_forward_eval_reference(const double*, BnLayout, const double*, const double*,
                                        const double*, const double*, double*);
template void bn_forward_eval_fast(const double*, BnLayout, const double*, const double*,
                                   const double*, const double*, double*);
template void bn_backward_reference(const double*, const double*, BnLayout, const double*,
                                    BnBackwardArgs, double*, double*, double*);
template void bn_backward_fast(const double*, const double*, BnLayout, const double*,
                               BnBackwardArgs, double*, double*, double*);

}  // namespace mg::nn::kernels

// How BatchNorm1d's fast path (batchnorm1d_fast.cpp) walks x, with nothing of BatchNorm in it:
// per-thread scratch, teams of threads sharing the rows, sums down rows kept in T and folded into
// double, elementwise maps. Internal to the fast path.
// Legend: N = batch, C = channels, L = length, K = how many sums one pass accumulates,
// b = a row (sample), c = a channel, i = an element's index in x.
#pragma once

#include <omp.h>
#ifdef __AVX512F__
#include <immintrin.h>  // non-temporal stores (write_run)
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/parallel.hpp"  // kParallelElements: below it, everything runs on one thread
#include "layers/batchnorm1d_fast.hpp"

namespace mg::nn::batchnorm1d_fast {

// Sums are kept in T (float: twice double's SIMD width) over at most kFold rows, then folded
// into double. A float sum of 16 terms is off by a few ulps; the fold keeps that from growing
// with n.
constexpr int64_t kFold = 16;

inline int threads_for(Layout s) {
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
inline std::pair<int64_t, int64_t> share(int64_t N, int t, int nt) {
  return {N * t / nt, N * (t + 1) / nt};
}

// part[k * width + j] += g_k(o + j, j) for each of the K = sizeof...(g) functions and every
// vector o = i0 + r * stride, r < rows: sums down a stack of contiguous vectors (rows of an (N, C)
// input, or one channel's runs of L), so the inner loop is contiguous and vectorises. A strip of
// kStrip columns is summed down all the rows in registers before its sums go to `part`, rather
// than loading and storing `part` once per row (256x256 fwd+bwd 44 -> 36 µs, `bench_minigrad`);
// the sums, and so the results, are the same. `strips` turns them off (see sum_rows). (The g
// capture their pointers by value: a pointer read through a reference may alias the partial sums
// being stored, which stops the vectoriser.)
template <typename T, typename... G>
void sum_down(int64_t i0, int64_t rows, int64_t stride, int64_t width, bool strips, T* part,
              G... g) {
  constexpr int K = sizeof...(G);
  constexpr int64_t kStrip = 128 / int64_t(sizeof(T));  // two AVX-512 registers per sum
  int64_t j0 = 0;
  for (; strips && j0 + kStrip <= width; j0 += kStrip) {  // a strip's sums stay in registers
    T strip[K][kStrip] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t o = i0 + r * stride + j0;
#pragma omp simd
      for (int64_t j = 0; j < kStrip; ++j) {
        int k = 0;
        ((strip[k++][j] += g(o + j, j0 + j)), ...);
      }
    }
    for (int k = 0; k < K; ++k)
#pragma omp simd
      for (int64_t j = 0; j < kStrip; ++j) part[k * width + j0 + j] += strip[k][j];
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = i0 + r * stride;
#pragma omp simd
    for (int64_t j = j0; j < width; ++j) {
      T* p = part + j;
      ((*p += g(o + j, j), p += width), ...);
    }
  }
}

// (N, C, L) input larger than this sums its runs without sum_down's strips. A channel's runs lie
// C * L apart, and a strip walked down them reads 128 bytes per jump, which the prefetcher does
// not follow when they come from memory: fwd+bwd 64x128x256 2.8 -> 2.2 ms, 128x64x128 731 -> 640
// µs without strips; in cache they win as on rows: 16x16x32 7.6 -> 4.4 µs, 32x64x64 80 -> 69 µs
// with them (`bench/compare_builds.py --isolate`). About this machine's L2 (1 MiB).
constexpr int64_t kStripBytes = int64_t{1} << 20;

// acc[k][c] += the sum of g_k(i, c) over the elements i of channel c in rows [b0, b1).
template <typename T, typename... G>
void sum_rows(Layout s, int64_t b0, int64_t b1, std::array<double*, sizeof...(G)> acc, G... g) {
  constexpr int K = sizeof...(G);
  if (s.L == 1) {  // rows of C channels: one partial sum per channel
    T* part = scratch<T, 3>(K * s.C);
    for (int64_t r0 = b0; r0 < b1; r0 += kFold) {
      std::fill_n(part, K * s.C, T(0));
      sum_down<T>(r0 * s.C, std::min(kFold, b1 - r0), s.C, s.C, true, part, g...);
      for (int k = 0; k < K; ++k)
        for (int64_t c = 0; c < s.C; ++c) acc[k][c] += part[k * s.C + c];
    }
    return;
  }
  T* part = scratch<T, 3>(K * s.L);  // (N, C, L): channel c's runs of L, kFold rows at a time
  const bool strips = s.numel() * int64_t(sizeof(T)) <= kStripBytes;
  for (int64_t r0 = b0; r0 < b1; r0 += kFold)
    for (int64_t c = 0; c < s.C; ++c) {
      std::fill_n(part, K * s.L, T(0));
      sum_down<T>((r0 * s.C + c) * s.L, std::min(kFold, b1 - r0), s.C * s.L, s.L, strips, part,
                  [g, c](int64_t i, int64_t) { return g(i, c); }...);
      for (int k = 0; k < K; ++k) {
        double run = 0;
#pragma omp simd reduction(+ : run)
        for (int64_t l = 0; l < s.L; ++l) run += part[k * s.L + l];
        acc[k][c] += run;
      }
    }
}

// f(i, c) for every element of rows [b0, b1); elementwise, so the inner loop vectorises.
template <typename F>
void map_rows(Layout s, int64_t b0, int64_t b1, F f) {
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

// Outputs at least this large are written with non-temporal stores (stream = true below): they
// do not fit in the cache, and an ordinary store would first read every line it writes (write
// allocate: 4 more bytes of traffic per float) and evict the inputs. Measured with
// `bench_minigrad` on the eval forward (one read, one write): 4096x1024 1.44 -> 1.19 ms, and
// 1024x1024 (4 MiB) 195 -> 124 µs, best of 5 rounds on a loaded machine.
constexpr int64_t kStreamBytes = int64_t{4} << 20;

inline bool stream_output(Layout s, int64_t bytes_per_element) {
  return s.numel() * bytes_per_element >= kStreamBytes;
}

// out[o + j] = g(o + j, j) for j < width: one contiguous run. With `stream`, the part from the
// first 64-byte boundary on is written 64 bytes at a time with non-temporal stores (AVX-512).
template <typename T, typename G>
void write_run(T* out, int64_t o, int64_t width, bool stream, G g) {
  int64_t j0 = 0;
#ifdef __AVX512F__
  constexpr int64_t kLanes = 64 / int64_t(sizeof(T));
  if (stream) {
    const auto misaligned = int64_t(reinterpret_cast<std::uintptr_t>(out + o) % 64);
    const int64_t head = std::min(width, misaligned ? (64 - misaligned) / int64_t(sizeof(T)) : 0);
    for (int64_t j = 0; j < head; ++j) out[o + j] = g(o + j, j);
    for (j0 = head; j0 + kLanes <= width; j0 += kLanes) {
      alignas(64) T v[kLanes];
#pragma omp simd
      for (int64_t k = 0; k < kLanes; ++k) v[k] = g(o + j0 + k, j0 + k);
      if constexpr (sizeof(T) == 4) {
        _mm512_stream_ps(out + o + j0, _mm512_load_ps(v));
      } else {
        _mm512_stream_pd(out + o + j0, _mm512_load_pd(v));
      }
    }
  }
#endif
#pragma omp simd
  for (int64_t j = j0; j < width; ++j) out[o + j] = g(o + j, j);
}

// out[i] = g(i, c) for every element i of rows [b0, b1), c its channel; see write_run.
template <typename T, typename G>
void write_rows(Layout s, int64_t b0, int64_t b1, T* out, bool stream, G g) {
  for (int64_t b = b0; b < b1; ++b) {
    if (s.L == 1) {
      write_run(out, b * s.C, s.C, stream, g);
      continue;
    }
    for (int64_t c = 0; c < s.C; ++c)
      write_run(out, (b * s.C + c) * s.L, s.L, stream,
                [g, c](int64_t i, int64_t) { return g(i, c); });
  }
#ifdef __AVX512F__
  if (stream) _mm_sfence();  // the streamed stores are visible to every thread after this
#endif
}

// acc[c] += g(i, c) over the elements i of channel c in rows [b0, b1), every term in double: for
// a chunk whose float partial sums overflowed. Slow, and only ever run on such data.
template <typename G>
void sum_rows_in_double(Layout s, int64_t b0, int64_t b1, double* acc, G g) {
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t l = 0; l < s.L; ++l) acc[c] += g((b * s.C + c) * s.L + l, c);
}

inline bool all_finite(const double* v, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

}  // namespace mg::nn::batchnorm1d_fast

// How BatchNorm1d's plain loops (layers/batchnorm1d.cpp) walk x: element by element, or adding
// up each channel's values. Both go through the buffer in memory order; x is seen as (N, C, L),
// element (b, c, l) at i = (b * C + c) * L + l (docs/batchnorm.md, section 7).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "layers/batchnorm1d_fast.hpp"  // Layout

namespace mg::nn::batchnorm1d_walk {

using batchnorm1d_fast::Layout;

// Calls f(i, c) for every element i of x, c being its channel: for elementwise work (f(i, c)
// writes only element i), as its inner loops are SIMD loops, several i at once. (N, C) rows are
// runs of C channels, (N, C, L) rows runs of L: contiguous, so they vectorise. f captures its
// pointers by value: a pointer read through a reference may alias the output being stored, which
// would stop the vectoriser.
template <typename F>
void for_each_element(Layout s, F f) {
  for (int64_t b = 0; b < s.N; ++b) {
    if (s.L == 1) {
#pragma omp simd
      for (int64_t c = 0; c < s.C; ++c) f(b * s.C + c, c);
    } else {
      for (int64_t c = 0; c < s.C; ++c)
#pragma omp simd
        for (int64_t l = 0; l < s.L; ++l) f((b * s.C + c) * s.L + l, c);
    }
  }
}

// Adds terms[k](i + j, c + j) into acc[k][j] for the W consecutive elements from i (channel c on).
template <int64_t W, typename... F, size_t... k>
void add_run(std::index_sequence<k...>, std::array<double, W>* acc, int64_t i, int64_t c,
             const F&... terms) {
  for (int64_t j = 0; j < W; ++j) ((acc[k][j] += terms(i + j, c + j)), ...);
}

// sums[k][c] += terms[k](i, c) over every element i of channel c, for K sums in one walk.
// Each channel's terms are added one by one in memory order: exactly the additions of a loop
// over i = 0, 1, ... doing sums[k][channel of i] += terms[k](i, c), so the same result to the
// last bit. What differs is where the running sums live: in locals, which the compiler can keep
// in registers, instead of in memory that every element would load and store. (N, C) rows go
// kBlock channels at a time (one AVX-512 vector of doubles down the rows); (N, C, L) runs, one
// channel's run of L at a time.
template <typename... F>
void sum_per_channel(Layout s, std::array<double*, sizeof...(F)> sums, F... terms) {
  constexpr size_t K = sizeof...(F);
  constexpr int64_t kBlock = 8;
  const auto ks = std::index_sequence_for<F...>{};
  if (s.L == 1) {
    int64_t c0 = 0;
    for (; c0 + kBlock <= s.C; c0 += kBlock) {        // kBlock channels down all the rows
      std::array<std::array<double, kBlock>, K> acc;  // acc[k][j]: sum k of channel c0 + j
      for (size_t k = 0; k < K; ++k) std::copy_n(sums[k] + c0, kBlock, acc[k].begin());
      for (int64_t b = 0; b < s.N; ++b) add_run<kBlock>(ks, acc.data(), b * s.C + c0, c0, terms...);
      for (size_t k = 0; k < K; ++k) std::copy_n(acc[k].begin(), kBlock, sums[k] + c0);
    }
    for (; c0 < s.C; ++c0) {  // the last C % kBlock channels, one at a time
      std::array<std::array<double, 1>, K> acc;
      for (size_t k = 0; k < K; ++k) acc[k][0] = sums[k][c0];
      for (int64_t b = 0; b < s.N; ++b) add_run<1>(ks, acc.data(), b * s.C + c0, c0, terms...);
      for (size_t k = 0; k < K; ++k) sums[k][c0] = acc[k][0];
    }
    return;
  }
  for (int64_t b = 0; b < s.N; ++b) {  // (N, C, L): a channel's run of L at a time
    for (int64_t c = 0; c < s.C; ++c) {
      std::array<std::array<double, 1>, K> acc;
      for (size_t k = 0; k < K; ++k) acc[k][0] = sums[k][c];
      const int64_t i0 = (b * s.C + c) * s.L;
      for (int64_t l = 0; l < s.L; ++l) add_run<1>(ks, acc.data(), i0 + l, c, terms...);
      for (size_t k = 0; k < K; ++k) sums[k][c] = acc[k][0];
    }
  }
}

}  // namespace mg::nn::batchnorm1d_walk

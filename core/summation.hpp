// Accurate sums: every reduction in minigrad that adds up many values goes through here.
//
// Adding float32 values one at a time into a float32 total loses the low bits of each new term
// once the total dwarfs it: 10^7 copies of 0.1f summed that way give 1.09e6, not 1e6. So the
// sums here run in double (53 bits) and in blocks: at most kSumBlock terms are added in one
// running total, and the totals of the blocks are combined pairwise (cascade summation, as
// PyTorch and NumPy do). The rounding error then grows with log2 of the count rather than with
// the count, and stays far below one float32 ulp of the result at any size; a sum of float64
// terms is within a few float64 ulps of the exact sum for well-conditioned data.
// (Cancellation is another matter: a sum of large terms of both signs that nearly cancel is
// only as exact as the terms themselves.)
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace mg {

// The longest run of terms added into one running total.
inline constexpr int64_t kSumBlock = 1024;

// The sum of term(i) for i in [begin, end), in double. A block is summed into 32 running totals
// (term i goes to total i mod 32), which the compiler keeps in vector registers so that the
// additions overlap instead of each waiting for the one before; larger ranges split at a block
// boundary near the middle and add the two halves' sums.
template <typename Term>
double pairwise_sum(int64_t begin, int64_t end, const Term& term) {
  if (end - begin <= kSumBlock) {
    constexpr int kLanes = 32;
    std::array<double, kLanes> lanes{};
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes)
      for (int j = 0; j < kLanes; ++j) lanes[j] += term(i + j);
    double total = 0;
    for (; i < end; ++i) total += term(i);
    for (double lane : lanes) total += lane;
    return total;
  }
  const int64_t half = ((end - begin) / 2 + kSumBlock - 1) / kSumBlock * kSumBlock;
  return pairwise_sum(begin, begin + half, term) + pairwise_sum(begin + half, end, term);
}

// The sum of the n contiguous values x[0 .. n), in double.
template <typename T>
double pairwise_sum(const T* x, int64_t n) {
  return pairwise_sum(0, n, [x](int64_t i) { return static_cast<double>(x[i]); });
}

// The column sums of a row-major (rows, cols) block x: for each column c, calls
// put(c, sum over r of x[r * cols + c]) with the sum in double. Legend: r = row, c = column.
// A column is strided in memory, so instead of summing one column at a time the rows are walked
// in order, adding each row into a running total per column (one SIMD loop along the row). A
// running total takes kColumnGroup rows at most; the totals of the groups are then combined
// pairwise, as pairwise_sum combines its blocks, by a binary counter: level l holds the sum of
// 2^l groups, and a finished group is merged with the levels below the counter's lowest clear
// bit, as a carry. So the error grows with log2 of the rows, never with the rows: a chain of
// group totals added one after another would grow with rows / kColumnGroup, and in float64
// lose hundreds of ulps over 10^7 rows. Columns go kTile at a time so that the group total and
// the levels in use stay in the L1 cache.
template <typename T, typename Put>
void column_sums(const T* x, int64_t rows, int64_t cols, const Put& put) {
  constexpr int64_t kTile = 128;
  constexpr int64_t kColumnGroup = 64;
  // rows < 2^63, so fewer than 2^57 groups: a count of 57 bits.
  constexpr int kMaxLevels = 57;
  // (kMaxLevels, kTile), on the stack and not cleared (a level is written before it is read):
  // level l holds the sum of 2^l groups while bit l of `groups` is set.
  std::array<std::array<double, kTile>, kMaxLevels> levels;
  std::array<double, kTile> group;  // (kTile): this group's rows
  for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
    const int64_t width = std::min(kTile, cols - c0);
    double* g = group.data();
    uint64_t groups = 0;  // groups finished in this tile
    for (int64_t r0 = 0; r0 < rows; r0 += kColumnGroup) {
      std::fill_n(g, width, 0.0);
      const int64_t r1 = std::min(rows, r0 + kColumnGroup);
      int64_t r = r0;
      for (; r + 4 <= r1; r += 4) {  // four rows per pass: a quarter of the loads and stores of g
        const T* row = x + r * cols + c0;  // (4, width) values of rows r .. r + 3, stride cols
        for (int64_t c = 0; c < width; ++c) {
          g[c] += (static_cast<double>(row[c]) + static_cast<double>(row[cols + c])) +
                  (static_cast<double>(row[2 * cols + c]) + static_cast<double>(row[3 * cols + c]));
        }
      }
      for (; r < r1; ++r) {
        const T* row = x + r * cols + c0;  // (width) values of row r
        for (int64_t c = 0; c < width; ++c) g[c] += static_cast<double>(row[c]);
      }
      // The carry: the group absorbs every full level below the lowest empty one, which it
      // then fills. Each level holds the earlier rows, so it is the left operand.
      int l = 0;
      for (; (groups >> l) & 1; ++l) {
        const double* level = levels[l].data();
        for (int64_t c = 0; c < width; ++c) g[c] = level[c] + g[c];
      }
      std::copy_n(g, width, levels[l].data());
      ++groups;
    }
    // What is left: the full levels, the smaller (later) sums first.
    std::fill_n(g, width, 0.0);
    for (int l = 0; (groups >> l) != 0; ++l) {
      if (!((groups >> l) & 1)) continue;
      const double* level = levels[l].data();
      for (int64_t c = 0; c < width; ++c) g[c] = level[c] + g[c];
    }
    for (int64_t c = 0; c < width; ++c) put(c0 + c, g[c]);
  }
}

}  // namespace mg

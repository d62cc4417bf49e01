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
// in order, kSumBlock rows at a time, adding each row into a block total per column (one SIMD
// loop along the row); each block total is then added into the column's total. The error grows
// with kSumBlock + rows / kSumBlock, never with rows alone. Columns go kTile at a time so the
// two rows of totals stay in the L1 cache.
template <typename T, typename Put>
void column_sums(const T* x, int64_t rows, int64_t cols, const Put& put) {
  constexpr int64_t kTile = 256;
  std::array<double, kTile> block{}, total{};  // (kTile) each: this block's rows, all rows
  for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
    const int64_t width = std::min(kTile, cols - c0);
    std::fill_n(total.data(), width, 0.0);
    for (int64_t r0 = 0; r0 < rows; r0 += kSumBlock) {
      std::fill_n(block.data(), width, 0.0);
      const int64_t r1 = std::min(rows, r0 + kSumBlock);
      double* b = block.data();
      int64_t r = r0;
      for (; r + 4 <= r1; r += 4) {  // four rows per pass: a quarter of the loads and stores of b
        const T* row = x + r * cols + c0;  // (4, width) values of rows r .. r + 3, stride cols
        for (int64_t c = 0; c < width; ++c) {
          b[c] += (static_cast<double>(row[c]) + static_cast<double>(row[cols + c])) +
                  (static_cast<double>(row[2 * cols + c]) + static_cast<double>(row[3 * cols + c]));
        }
      }
      for (; r < r1; ++r) {
        const T* row = x + r * cols + c0;  // (width) values of row r
        for (int64_t c = 0; c < width; ++c) b[c] += static_cast<double>(row[c]);
      }
      for (int64_t c = 0; c < width; ++c) total[c] += block[c];
    }
    for (int64_t c = 0; c < width; ++c) put(c0 + c, total[c]);
  }
}

}  // namespace mg

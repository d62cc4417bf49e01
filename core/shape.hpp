// Shape: the dimensions of a tensor of rank 1 to 3, stored row-major (the last dim is contiguous).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include <fmt/format.h>

namespace mg {

class Shape {
 public:
  static constexpr int kMaxRank = 3;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);

  int rank() const { return rank_; }
  // The size of dim i, for i in [0, rank); ShapeError otherwise (reading past the rank would
  // return whatever the array holds there).
  int64_t operator[](int i) const {
    if (i < 0 || i >= rank_) index_error(i);
    return dims_[i];
  }
  int64_t numel() const;
  bool operator==(const Shape& other) const;
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }

  // "(8, 3)"; a rank-1 shape prints as "(8)".
  std::string str() const;

  // Builds a shape from a runtime list, checking the rank, the sizes (>= 0) and that the element
  // count fits int64_t; `op` names the caller in errors. Every Shape but the default one (rank 0,
  // "no shape", which no tensor has) is made here.
  static Shape checked(const char* op, const int64_t* dims, int rank);

 private:
  [[noreturn]] void index_error(int i) const;

  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace mg

template <>
struct fmt::formatter<mg::Shape> : fmt::formatter<std::string> {
  auto format(const mg::Shape& s, format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.str(), ctx);
  }
};

#include "core/shape.hpp"

#include "core/error.hpp"

namespace mg {

Shape::Shape(std::initializer_list<int64_t> dims) {
  *this = checked("Shape", dims.begin(), static_cast<int>(dims.size()));
}

Shape Shape::checked(const char* op, const int64_t* dims, int rank) {
  if (rank < 1 || rank > kMaxRank) {
    fail<ShapeError>("{}: expected a shape of rank 1 to 3, got rank {}", op, rank);
  }
  Shape s;
  s.rank_ = rank;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) fail<ShapeError>("{}: expected non-negative sizes, got {}", op, dims[i]);
    s.dims_[i] = dims[i];
  }
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + ")";
}

}  // namespace mg

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
  // The product of the non-zero dims must fit int64_t. Then numel(), and every stride or partial
  // product of dims computed from a Shape anywhere in minigrad, is exact. Zero dims are left out
  // so that the check does not depend on the order of the dims: (0, 2^62, 2^62) is refused too,
  // although it holds no element, because its strides would overflow.
  int64_t product = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] != 0 && __builtin_mul_overflow(product, dims[i], &product)) {
      fail<ShapeError>("{}: expected at most 2^63 - 1 elements, got shape {} (the count overflows)",
                       op, s);
    }
  }
  return s;
}

void Shape::index_error(int i) const {
  fail<ShapeError>("Shape: expected a dim in [0, {}) of shape {}, got {}", rank_, *this, i);
}

// Exact: checked() made sure the product fits.
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

// Sigmoid's forward: mg::sigmoid (core/ops_unary.cpp) records the op and its backward,
// dx = dy y (1 - y).
#include "layers/sigmoid.hpp"

#include "core/ops.hpp"

namespace mg::nn {

template <typename T>
BasicTensor<T> BasicSigmoid<T>::forward(const BasicTensor<T>& x) {
  return sigmoid(x);
}

template class BasicSigmoid<float>;
template class BasicSigmoid<double>;

}  // namespace mg::nn

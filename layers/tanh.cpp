// Tanh's forward: mg::tanh (core/ops_unary.cpp) records the op and its backward, dx = dy (1 - y^2).
#include "layers/tanh.hpp"

#include "core/ops.hpp"

namespace mg::nn {

template <typename T>
BasicTensor<T> BasicTanh<T>::forward(const BasicTensor<T>& x) {
  return tanh(x);
}

template class BasicTanh<float>;
template class BasicTanh<double>;

}  // namespace mg::nn

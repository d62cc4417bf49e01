// ReLU's forward. It has no parameters and no backward of its own: mg::relu (core/ops_unary.cpp)
// records the op with its backward, dx = dy where x > 0, else 0. A layer whose math is a
// composition of existing ops needs nothing more; a layer with a fused kernel (layers/linear.cpp)
// writes its backward directly below its forward.
#include "layers/relu.hpp"

#include "core/ops.hpp"

namespace mg::nn {

template <typename T>
BasicTensor<T> BasicReLU<T>::forward(const BasicTensor<T>& x) {
  return relu(x);
}

template class BasicReLU<float>;
template class BasicReLU<double>;

}  // namespace mg::nn

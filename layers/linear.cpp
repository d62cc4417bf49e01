// Linear's forward and its backward, directly below. Legend: N = batch, I = in_features,
// O = out_features.
#include "layers/linear.hpp"

#include <cmath>
#include <span>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/saved_tensor.hpp"
#include "core/summation.hpp"

namespace mg::nn {

template <typename T>
BasicLinear<T>::BasicLinear(int64_t in_features, int64_t out_features, LinearOptions options,
                            Generator& gen)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features <= 0 || out_features <= 0) {
    fail<std::invalid_argument>(
        "Linear: expected in_features > 0 and out_features > 0, got in_features={}, "
        "out_features={}",
        in_features, out_features);
  }
  const int64_t weight_dims[] = {out_features, in_features};  // (O, I); O * I may overflow
  weight = BasicTensor<T>::zeros(Shape::checked("Linear", weight_dims, 2), /*requires_grad=*/true);
  if (options.bias) bias = BasicTensor<T>::zeros(Shape{out_features}, /*requires_grad=*/true);
  reset_parameters(gen);
}

template <typename T>
void BasicLinear<T>::reset_parameters(Generator& gen) {
  // PyTorch: kaiming_uniform_(weight, a = sqrt(5)) has bound gain * sqrt(3 / I) with
  // gain = sqrt(2 / (1 + a^2)) = sqrt(1 / 3), so the bound is 1 / sqrt(I); the bias uses the same.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features_));
  for (T& w : std::span(weight.data(), weight.numel()))  // a write: the version moves
    w = static_cast<T>(gen.uniform(-bound, bound));
  if (bias.defined()) {
    for (T& b : std::span(bias.data(), bias.numel()))
      b = static_cast<T>(gen.uniform(-bound, bound));
  }
}

template <typename T>
BasicTensor<T> BasicLinear<T>::forward(const BasicTensor<T>& x) {
  require_defined("Linear", x);
  if (x.rank() != 2) {
    fail<ShapeError>("Linear: expected input of shape (N, {}), got {}", in_features_, x.shape());
  }
  if (x.size(1) != in_features_) {
    fail<ShapeError>("Linear: expected input with {} features, got {}", in_features_, x.shape());
  }
  // y = x W^T + b                        x: (N, I), W: (O, I), b: (O), y: (N, O)
  // The bias is written into every row of y first, and the GEMM then accumulates x W^T onto it
  // (C = A B^T + 1 C), so y is produced in one pass of the product with no temporary.
  // The parameters are read through const references: a non-const access counts as a write.
  const BasicTensor<T>& w = weight;  // (O, I)
  const BasicTensor<T>& b = bias;    // (O)
  BasicTensor<T> y = BasicTensor<T>::empty(Shape{x.size(0), out_features_});
  if (b.defined()) {
    y.matrix().rowwise() = b.matrix().row(0);
  } else {
    y.matrix().setZero();
  }
  gemm<T>(x.matrix(), false, w.matrix(), /*transpose_b=*/true, T(1), y.matrix());

  // Backward of y = x W^T + b, with dy = dL/dy: (N, O)
  //   dL/dx = dy W          (N, O) x (O, I) -> (N, I)     reads W
  //   dL/dW = dy^T x        (O, N) x (N, I) -> (O, I)     reads x
  //   dL/db = sum_n dy[n]   (O)                           reads neither
  // Nothing is copied: x and W are saved as they are (SavedTensor checks, when the backward
  // reads them, that nothing wrote them since), and b is not saved at all.
  std::vector<BasicTensor<T>> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  const bool has_bias = bias.defined();
  y.set_grad_fn("linear", std::move(inputs),
                [x_saved = SavedTensor<T>(x), w_saved = SavedTensor<T>(weight), has_bias](
                    const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
                  const BasicTensor<T>& x = in[0];
                  const BasicTensor<T>& w = in[1];
                  if (x.requires_grad()) {  // a fresh gradient is written, not zeroed then added
                    const typename BasicTensor<T>::GradBuffer dx = x.grad_buffer();
                    typename BasicTensor<T>::MatrixMap dxm(dx.data, x.size(0), x.size(1));
                    gemm<T>(dy.matrix(), false, w_saved.get().matrix(), false,
                            T(dx.accumulate ? 1 : 0), dxm);
                  }
                  if (w.requires_grad()) {  // dW += dy^T x
                    gemm<T>(dy.matrix(), /*transpose_a=*/true, x_saved.get().matrix(), false, T(1),
                            w.grad_matrix());
                  }
                  if (has_bias && in[2].requires_grad()) {  // summed over N in double
                    T* db = in[2].grad_flat().data();
                    column_sums(dy.data(), dy.size(0), dy.size(1),
                                [db](int64_t o, double total) { db[o] += static_cast<T>(total); });
                  }
                });
  return y;
}

template <typename T>
std::string BasicLinear<T>::repr() const {
  return fmt::format("Linear(in_features={}, out_features={}, bias={})", in_features_,
                     out_features_, bias.defined());
}

template <typename T>
NamedTensors<T> BasicLinear<T>::own_parameters() {
  if (!bias.defined()) return {{"weight", weight}};
  return {{"weight", weight}, {"bias", bias}};
}

template class BasicLinear<float>;
template class BasicLinear<double>;

}  // namespace mg::nn

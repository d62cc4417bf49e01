// Dropout: the forward, and its backward right below it.
// Legend: x input, y output, dy = dL/dy, noise = mask / (1 - p) (0 or the scale, per element).
#include "layers/dropout.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"

namespace mg::nn {

template <typename T>
BasicDropout<T>::BasicDropout(DropoutOptions options, Generator& gen)
    : options_(options), gen_(&gen) {
  // `!(p >= 0)` rather than `p < 0`, so that NaN is refused too.
  if (!(options.p >= 0) || !(options.p < 1)) {
    fail<std::invalid_argument>("Dropout: expected p in [0, 1), got {}", options.p);
  }
}

template <typename T>
BasicTensor<T> BasicDropout<T>::forward(const BasicTensor<T>& x) {
  require_defined("Dropout", x);
  if (!this->is_training() || options_.p == 0) return x;
  const double keep = 1 - options_.p;
  // The survivors' scale, rounded to T as PyTorch rounds it (noise.div_(1 - p) in T).
  const T scale = T(1) / static_cast<T>(keep);
  // noise: the shape of x; scale where the element survives (probability 1 - p), else 0.
  BasicTensor<T> noise = BasicTensor<T>::empty(x.shape());
  T* pn = noise.data();
  for (int64_t i = 0; i < noise.numel(); ++i) pn[i] = gen_->uniform() < keep ? scale : T(0);
  // y = x * noise
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());
  y.flat() = x.flat() * noise.flat();

  // dy/dx = noise: the gradient passes where the element survived, scaled the same way. The
  // noise is saved: the backward cannot redraw it, the generator has moved on.
  y.set_grad_fn("dropout", {x},
                [noise](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
                  in[0].grad_flat() += dy.flat() * noise.flat();
                });
  return y;
}

template <typename T>
std::string BasicDropout<T>::repr() const {
  return fmt::format("Dropout(p={}, inplace=false)", options_.p);
}

template class BasicDropout<float>;
template class BasicDropout<double>;

}  // namespace mg::nn

// Linear: y = x W^T + b, the fully connected layer.
//
// Legend: N = batch, I = in_features, O = out_features.
// Parameters are PyTorch's, with its names and shapes (a state_dict maps one to one):
//   weight (O, I), bias (O), both initialised uniform in [-1/sqrt(I), 1/sqrt(I)) from a seeded
//   mg::Generator, which is what PyTorch's default init (kaiming_uniform_ with a = sqrt(5))
//   works out to.
#pragma once

#include <cstdint>
#include <string>

#include "core/random.hpp"
#include "layers/module.hpp"

namespace mg::nn {

struct LinearOptions {
  bool bias = true;  // false: y = x W^T, and `bias` stays undefined
};

template <typename T>
class BasicLinear : public BasicModule<T> {
 public:
  BasicLinear(int64_t in_features, int64_t out_features, LinearOptions options = {},
              Generator& gen = default_generator());

  // x: (N, I) -> y: (N, O). One autograd node, "linear", with a hand-written backward.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  std::string repr() const override;
  NamedTensors<T> own_parameters() override;

  // Draws new weights (and bias) from `gen`, in place: the tensors keep their identity, so an
  // optimizer holding them sees the new values.
  void reset_parameters(Generator& gen = default_generator());

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  BasicTensor<T> weight;  // (O, I)
  BasicTensor<T> bias;    // (O); undefined without bias

 private:
  int64_t in_features_;
  int64_t out_features_;
};

extern template class BasicLinear<float>;
extern template class BasicLinear<double>;
using Linear = BasicLinear<float>;

}  // namespace mg::nn

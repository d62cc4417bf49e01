// Dropout: in training, zeroes each element with probability p and scales the survivors by
// 1 / (1 - p) ("inverted" dropout, as PyTorch 1.13's nn.Dropout), so that every element keeps
// its expected value and eval() needs no rescaling:
//
//   training:  y = x * mask / (1 - p),  mask ~ Bernoulli(1 - p) per element, drawn anew each call
//   eval:      y = x  (the input itself, nothing drawn)
//
// p = 0 is the identity in training too, and draws nothing (as in PyTorch). p must be in [0, 1):
// PyTorch also accepts p = 1, which zeroes everything so nothing upstream can learn; minigrad
// refuses it with an error instead.
//
// The mask comes from the Generator given to the constructor (default_generator() if none), so
// a seed fixes it: mg::manual_seed(0), or a generator of the layer's own. gradcheck_module
// replays it for every probe (layers/gradcheck_module.hpp). One autograd node, "dropout".
#pragma once

#include <string>

#include "core/random.hpp"
#include "layers/module.hpp"

namespace mg::nn {

struct DropoutOptions {
  double p = 0.5;  // probability of zeroing an element, in [0, 1)
};

template <typename T>
class BasicDropout : public BasicModule<T> {
 public:
  // `gen` must outlive the layer; it is shared, not copied.
  explicit BasicDropout(DropoutOptions options = {}, Generator& gen = default_generator());

  // x: any shape -> y: the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // "Dropout(p=0.5, inplace=false)", as PyTorch prints it (minigrad's is never in place).
  std::string repr() const override;
  std::vector<std::pair<std::string, Generator*>> own_generators() override {
    return {{"generator", gen_}};
  }

  const DropoutOptions& options() const { return options_; }
  Generator& generator() { return *gen_; }

 private:
  DropoutOptions options_;
  Generator* gen_;
};

extern template class BasicDropout<float>;
extern template class BasicDropout<double>;
using Dropout = BasicDropout<float>;

}  // namespace mg::nn

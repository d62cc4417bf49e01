// Sequential: a chain of modules, each fed the previous one's output.
//
//   mg::nn::Sequential net;
//   net.push_back(mg::nn::Linear(2, 64));
//   net.push_back(mg::nn::ReLU());
//   auto& head = net.push_back(mg::nn::Linear(64, 3));   // a reference to the stored module
//
// It owns its children (std::unique_ptr) and names them "0", "1", ... as PyTorch does, so its
// parameters are "0.weight", "0.bias", "2.weight", ...
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.hpp"

namespace mg::nn {

template <typename T>
class BasicSequential : public BasicModule<T> {
 public:
  // Moves `module` in and returns a reference to the stored one (valid as long as this lives).
  template <std::derived_from<BasicModule<T>> M>
  M& push_back(M module) {
    auto owned = std::make_unique<M>(std::move(module));
    M& stored = *owned;
    modules_.push_back(std::move(owned));
    return stored;
  }

  std::size_t size() const { return modules_.size(); }
  // Puts `module` in the i-th place and returns the module it replaces (convert_sync_batchnorm);
  // std::out_of_range if there is no i-th module.
  std::unique_ptr<BasicModule<T>> replace(std::size_t i, std::unique_ptr<BasicModule<T>> module);
  // The i-th module; std::out_of_range if there is none.
  BasicModule<T>& operator[](std::size_t i);
  // The i-th module as the layer type it is: `net.at<Linear>(0).weight`. std::out_of_range if
  // there is no i-th module, std::invalid_argument if it is not an M.
  template <std::derived_from<BasicModule<T>> M>
  M& at(std::size_t i) {
    BasicModule<T>& m = (*this)[i];
    if (auto* typed = dynamic_cast<M*>(&m)) return *typed;
    throw_wrong_type(i);
  }

  // x -> modules_[0] -> modules_[1] -> ... -> y; with no modules, y = x (as in PyTorch).
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // Sequential(
  //   (0): Linear(in_features=2, out_features=64, bias=true)
  //   (1): ReLU()
  // )
  std::string repr() const override;
  std::vector<std::pair<std::string, BasicModule<T>*>> children() override;

 private:
  [[noreturn]] void throw_wrong_type(std::size_t i) const;

  std::vector<std::unique_ptr<BasicModule<T>>> modules_;
};

extern template class BasicSequential<float>;
extern template class BasicSequential<double>;
using Sequential = BasicSequential<float>;

}  // namespace mg::nn

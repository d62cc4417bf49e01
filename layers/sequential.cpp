#include "layers/sequential.hpp"

#include <stdexcept>

#include "core/error.hpp"

namespace mg::nn {

template <typename T>
BasicModule<T>& BasicSequential<T>::operator[](std::size_t i) {
  if (i >= modules_.size()) {
    fail<std::out_of_range>("Sequential: expected an index below {}, got {}", modules_.size(), i);
  }
  return *modules_[i];
}

template <typename T>
std::unique_ptr<BasicModule<T>> BasicSequential<T>::replace(std::size_t i,
                                                            std::unique_ptr<BasicModule<T>> module) {
  (*this)[i];  // checks i
  std::swap(modules_[i], module);
  return module;
}

template <typename T>
void BasicSequential<T>::throw_wrong_type(std::size_t i) const {
  fail<std::invalid_argument>("Sequential: module {} is {}, not the type asked for", i,
                              modules_[i]->repr());
}

template <typename T>
BasicTensor<T> BasicSequential<T>::forward(const BasicTensor<T>& x) {
  BasicTensor<T> y = x;
  for (auto& module : modules_) y = module->forward(y);
  return y;
}

template <typename T>
std::string BasicSequential<T>::repr() const {
  if (modules_.empty()) return "Sequential()";
  std::string out = "Sequential(\n";
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    // A nested module's own lines are indented one more level, as PyTorch prints them.
    std::string child = modules_[i]->repr();
    for (std::size_t pos = child.find('\n'); pos != std::string::npos;
         pos = child.find('\n', pos + 1)) {
      child.insert(pos + 1, "  ");
    }
    out += fmt::format("  ({}): {}\n", i, child);
  }
  return out + ")";
}

template <typename T>
std::vector<std::pair<std::string, BasicModule<T>*>> BasicSequential<T>::children() {
  std::vector<std::pair<std::string, BasicModule<T>*>> out;
  for (std::size_t i = 0; i < modules_.size(); ++i)
    out.emplace_back(std::to_string(i), modules_[i].get());
  return out;
}

template class BasicSequential<float>;
template class BasicSequential<double>;

}  // namespace mg::nn

#include "layers/module.hpp"

#include <map>
#include <unordered_set>

#include "core/error.hpp"

namespace mg::nn {
namespace {

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Visits `m` and its descendants depth-first with their dotted prefixes ("" for m itself).
template <typename T, typename F>
void walk(BasicModule<T>& m, const std::string& prefix, F&& visit) {
  visit(m, prefix);
  for (auto& [name, child] : m.children()) walk(*child, join(prefix, name), visit);
}

}  // namespace

// A parameter shared by two modules (tied weights), or a module reached twice, is listed once,
// under the first name met, as in PyTorch: an optimizer must update it once per step.
template <typename T>
NamedTensors<T> BasicModule<T>::named_parameters() {
  NamedTensors<T> out;
  std::unordered_set<const void*> seen;
  walk(*this, "", [&](BasicModule& m, const std::string& prefix) {
    for (auto& [name, p] : m.own_parameters())
      if (seen.insert(p.id()).second) out.emplace_back(join(prefix, name), p);
  });
  return out;
}

template <typename T>
std::vector<BasicTensor<T>> BasicModule<T>::parameters() {
  std::vector<BasicTensor<T>> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

template <typename T>
std::vector<BufferRef<T>> BasicModule<T>::named_buffers() {
  std::vector<BufferRef<T>> out;
  std::unordered_set<const void*> seen;  // shared buffers, once each (as parameters)
  walk(*this, "", [&](BasicModule& m, const std::string& prefix) {
    for (BufferRef<T>& b : m.own_buffers()) {
      const void* key = b.count ? static_cast<const void*>(b.count) : b.tensor.id();
      if (seen.insert(key).second) out.push_back({join(prefix, b.name), b.tensor, b.count});
    }
  });
  return out;
}

template <typename T>
std::vector<std::pair<std::string, Generator*>> BasicModule<T>::named_generators() {
  std::vector<std::pair<std::string, Generator*>> out;
  walk(*this, "", [&](BasicModule& m, const std::string& prefix) {
    for (auto& [name, gen] : m.own_generators()) out.emplace_back(join(prefix, name), gen);
  });
  return out;
}

template <typename T>
StateDict<T> BasicModule<T>::state_dict() {
  StateDict<T> out;
  walk(*this, "", [&](BasicModule& m, const std::string& prefix) {
    for (auto& [name, p] : m.own_parameters()) out.emplace_back(join(prefix, name), p);
    for (BufferRef<T>& b : m.own_buffers()) {
      if (b.count) {
        out.emplace_back(join(prefix, b.name), *b.count);
      } else {
        out.emplace_back(join(prefix, b.name), b.tensor);
      }
    }
  });
  return out;
}

template <typename T>
void BasicModule<T>::load_state_dict(const StateDict<T>& state) {
  StateDict<T> own = state_dict();
  std::map<std::string, const StateValue<T>*> given;
  for (const auto& [name, value] : state) {
    if (!given.emplace(name, &value).second) {
      fail<std::invalid_argument>("load_state_dict: key '{}' appears twice", name);
    }
  }
  // 1. Validate everything before changing anything.
  std::vector<std::string> missing, unexpected;
  for (const auto& [name, value] : own) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    const StateValue<T>& v = *it->second;
    if (value.index() != v.index()) {
      fail<std::invalid_argument>("load_state_dict: expected '{}' to be {}, got {}", name,
                                  value.index() == 0 ? "a tensor" : "an integer counter",
                                  v.index() == 0 ? "a tensor" : "an integer counter");
    }
    if (const auto* t = std::get_if<BasicTensor<T>>(&value)) {
      const BasicTensor<T>& src = std::get<BasicTensor<T>>(v);
      if (!src.defined() || !(src.shape() == t->shape())) {
        fail<std::invalid_argument>("load_state_dict: expected '{}' of shape {}, got {}", name,
                                    t->shape(), src.defined() ? src.shape().str() : "undefined");
      }
    }
  }
  for (const auto& [name, value] : state) {
    bool known = false;
    for (const auto& [own_name, own_value] : own) known = known || own_name == name;
    if (!known) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty()) {
    fail<std::invalid_argument>("load_state_dict: missing keys [{}], unexpected keys [{}]",
                                fmt::join(missing, ", "), fmt::join(unexpected, ", "));
  }
  // 2. Copy.
  std::map<std::string, int64_t*> counters;  // every name, as state_dict() lists them
  walk(*this, "", [&](BasicModule& m, const std::string& prefix) {
    for (BufferRef<T>& b : m.own_buffers())
      if (b.count) counters[join(prefix, b.name)] = b.count;
  });
  for (auto& [name, value] : own) {
    const StateValue<T>& v = *given.at(name);
    if (auto* t = std::get_if<BasicTensor<T>>(&value)) {
      t->flat() = std::get<BasicTensor<T>>(v).flat();
    } else {
      *counters.at(name) = std::get<int64_t>(v);
    }
  }
}

template <typename T>
void BasicModule<T>::train(bool on) {
  walk(*this, "", [on](BasicModule& m, const std::string&) { m.training_ = on; });
}

template <typename T>
void BasicModule<T>::zero_grad() {
  for (auto& [name, p] : named_parameters()) p.zero_grad();
}

template class BasicModule<float>;
template class BasicModule<double>;

}  // namespace mg::nn

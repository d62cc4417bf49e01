// A tensor's storage and graph node (detail::Buffer, detail::Node in core/tensor.hpp): how a buffer
// returns its memory to the caching allocator, and how a graph is torn down.
#include "core/allocator.hpp"
#include "core/tensor.hpp"

namespace mg::detail {

template <typename T>
Buffer<T>::Buffer(int64_t n)
    : ptr(static_cast<T*>(allocate(static_cast<std::size_t>(n) * sizeof(T)))), size(n) {}

template <typename T>
Buffer<T>::~Buffer() {
  deallocate(ptr, static_cast<std::size_t>(size) * sizeof(T));
}

// Tears a graph down iteratively. The default (recursive) destruction of a chain of 100,000
// ops would nest 100,000 destructor calls and overflow the stack.
template <typename T>
Node<T>::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  for (BasicTensor<T>& t : inputs) pending.push_back(std::move(t.node_));
  inputs.clear();
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n && n.use_count() == 1) {  // we hold the last reference: unhook its inputs first
      for (BasicTensor<T>& t : n->inputs) pending.push_back(std::move(t.node_));
      n->inputs.clear();
    }
  }
}

template struct Node<float>;
template struct Node<double>;
template struct Buffer<float>;
template struct Buffer<double>;

}  // namespace mg::detail

// broadcast_parameters and average_gradients: each packs many tensors into one buffer so that a
// step makes one collective call, not one per tensor (each call costs a round of messages).
#include "layers/data_parallel.hpp"

#include <algorithm>
#include <span>
#include <vector>

#include "core/distributed.hpp"

namespace mg::nn {

template <typename T>
void broadcast_parameters(BasicModule<T>& model, int root) {
  std::vector<BasicTensor<T>> tensors = model.parameters();
  std::vector<int64_t*> counters;
  for (BufferRef<T>& b : model.named_buffers()) {
    if (b.count) {
      counters.push_back(b.count);
    } else {
      tensors.push_back(b.tensor);
    }
  }
  std::vector<T> flat;  // every tensor's values, one after the other
  for (const BasicTensor<T>& t : tensors) flat.insert(flat.end(), t.data(), t.data() + t.numel());
  dist::broadcast(std::span<T>(flat), root);
  const T* from = flat.data();
  for (BasicTensor<T>& t : tensors) {
    std::copy_n(from, t.numel(), t.data());
    from += t.numel();
  }
  // Counters travel as doubles: exact up to 2^53.
  std::vector<double> counts(counters.size());
  for (std::size_t i = 0; i < counters.size(); ++i) counts[i] = static_cast<double>(*counters[i]);
  dist::broadcast(std::span<double>(counts), root);
  for (std::size_t i = 0; i < counters.size(); ++i) *counters[i] = static_cast<int64_t>(counts[i]);
}

template <typename T>
void average_gradients(BasicModule<T>& model) {
  if (dist::world_size() == 1) return;
  std::vector<BasicTensor<T>> params;
  for (BasicTensor<T>& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  // The bucket: [every gradient, flattened (zeros for a missing one) | one flag per parameter].
  thread_local std::vector<T> bucket;
  int64_t total = 0;
  for (const BasicTensor<T>& p : params) total += p.numel();
  bucket.assign(static_cast<std::size_t>(total) + params.size(), T(0));
  T* at = bucket.data();
  T* has_grad = bucket.data() + total;  // (parameters): 1 where this rank has a .grad()
  for (std::size_t i = 0; i < params.size(); ++i) {
    const BasicTensor<T> g = params[i].grad();
    if (g.defined()) {
      std::copy_n(g.data(), g.numel(), at);
      has_grad[i] = 1;
    }
    at += params[i].numel();
  }
  dist::all_reduce_sum(std::span<T>(bucket));
  const T P = static_cast<T>(dist::world_size());
  at = bucket.data();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (has_grad[i] > 0) {
      T* g = params[i].grad_flat().data();
      for (int64_t j = 0; j < params[i].numel(); ++j) g[j] = at[j] / P;
    }
    at += params[i].numel();
  }
}

template void broadcast_parameters(BasicModule<float>&, int);
template void broadcast_parameters(BasicModule<double>&, int);
template void average_gradients(BasicModule<float>&);
template void average_gradients(BasicModule<double>&);

}  // namespace mg::nn

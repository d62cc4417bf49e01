// DataLoader: cuts a data set into batches, in a new shuffled order every epoch.
// Legend: n = samples, F = features, B = batch size.
#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "core/data.hpp"
#include "core/error.hpp"
#include "core/random.hpp"

namespace mg::data {

DataLoader::DataLoader(const Dataset& dataset, LoaderOptions options)
    : dataset_(dataset), options_(options) {
  detail::check_dataset("DataLoader", dataset);
  if (options.batch_size < 1)
    fail<std::invalid_argument>("DataLoader: expected batch_size >= 1, got {}", options.batch_size);
  if (options.num_replicas < 1) {
    fail<std::invalid_argument>("DataLoader: expected num_replicas >= 1, got {}",
                                options.num_replicas);
  }
  if (options.rank < 0 || options.rank >= options.num_replicas) {
    fail<std::invalid_argument>("DataLoader: expected rank in [0, {}), got {}",
                                options.num_replicas, options.rank);
  }
  if (options.drop_last && options.batch_size > num_samples()) {
    fail<std::invalid_argument>(
        "DataLoader: with drop_last, expected batch_size <= {} samples, got {} (no batch left)",
        num_samples(), options.batch_size);
  }
  shard(identity_order(dataset.size()));
}

int64_t DataLoader::num_samples() const {
  const int64_t P = options_.num_replicas;
  return (dataset_.size() + P - 1) / P;
}

int64_t DataLoader::num_batches() const {
  const int64_t n = num_samples(), B = options_.batch_size;
  return options_.drop_last ? n / B : (n + B - 1) / B;
}

std::vector<int64_t> DataLoader::identity_order(int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  return order;
}

// The whole epoch's order, padded with its own first indices to num_samples * num_replicas, and
// from it every num_replicas-th index starting at rank (PyTorch's DistributedSampler).
void DataLoader::shard(const std::vector<int64_t>& order) {
  const int64_t P = options_.num_replicas, n = static_cast<int64_t>(order.size());
  order_.resize(num_samples());
  for (int64_t i = 0; i < num_samples(); ++i) order_[i] = order[(options_.rank + i * P) % n];
}

DataLoader::Iterator DataLoader::begin() {
  if (options_.shuffle) {
    // The order of epoch e is a permutation drawn from a generator seeded by (seed, e) alone, so
    // it does not depend on how many epochs ran before (a resumed run sees the same batches).
    Generator gen(options_.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch_ + 1)));
    shard(gen.permutation(dataset_.size()));
  }
  ++epoch_;
  if (num_batches() > 0) fill(0);
  return Iterator(this, 0);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  if (index_ < loader_->num_batches()) loader_->fill(index_);
  return *this;
}

void DataLoader::fill(int64_t batch_index) {
  const int64_t n = num_samples(), F = dataset_.x.size(1);
  const int64_t start = batch_index * options_.batch_size;
  const int64_t B = std::min(options_.batch_size, n - start);
  const bool regression = dataset_.target.defined();
  // Two sets of buffers, made once: the full batch, and the smaller last one if there is one.
  Tensor& x = B == options_.batch_size ? full_x_ : tail_x_;
  Tensor& target = B == options_.batch_size ? full_target_ : tail_target_;
  if (!x.defined()) {
    x = Tensor::empty({B, F});                                             // (B, F)
    if (regression) target = Tensor::empty({B, dataset_.target.size(1)});  // (B, 1)
  }
  batch_.x = x;
  batch_.target = target;
  batch_.y.clear();  // keeps its capacity
  for (int64_t i = 0; i < B; ++i) {
    const int64_t row = order_[start + i];
    x.matrix().row(i) = dataset_.x.matrix().row(row);
    if (!dataset_.y.empty()) batch_.y.push_back(dataset_.y[row]);
    if (regression) target.matrix().row(i) = dataset_.target.matrix().row(row);
  }
}

}  // namespace mg::data

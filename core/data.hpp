// Synthetic 2-D data sets and a loader that cuts them into (shuffled) batches.
//
// Every data set is drawn from our own mg::Generator (core/random.hpp), so a seed gives the same
// points on every compiler. Samples are split evenly over the classes (the first
// `samples % classes` classes get one more), and `noise` is always the standard deviation of
// Gaussian noise added to each coordinate. Legend: n = samples, F = features (2 here),
// B = batch size.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace mg::data {

struct Dataset {
  Tensor x;                // (n, F) inputs
  std::vector<int64_t> y;  // n class labels in [0, classes); empty for regression
  Tensor target;           // (n, 1) regression targets; undefined for classification
  int64_t classes = 0;     // 0 for regression
  int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

// `classes` interleaved spiral arms, each one turn long, starting a little off the centre.
Dataset make_spirals(int64_t samples, int64_t classes = 2, double noise = 0.05, uint64_t seed = 0);
// Two interlocking half circles (always 2 classes).
Dataset make_moons(int64_t samples, double noise = 0.1, uint64_t seed = 0);
// One round Gaussian blob per class; the centres sit evenly on a circle of radius 2 and `noise`
// is each blob's standard deviation.
Dataset make_blobs(int64_t samples, int64_t classes = 3, double noise = 0.5, uint64_t seed = 0);
// Concentric rings, one per class, radii 1/K, 2/K, ..., 1.
Dataset make_circles(int64_t samples, int64_t classes = 2, double noise = 0.05, uint64_t seed = 0);
// x uniform in [-1, 1]^2, target = sin(pi x0) cos(pi x1) + noise: a smooth surface to fit.
Dataset make_regression(int64_t samples, double noise = 0.05, uint64_t seed = 0);

// Splits into (train, test). Stratified: each class sends round(test_fraction * its count) of
// its samples, chosen by `seed`, to the test set, so both halves keep the class proportions.
// Throws unless 0 < test_fraction < 1 and both halves are non-empty.
std::pair<Dataset, Dataset> train_test_split(const Dataset& ds, double test_fraction,
                                             uint64_t seed = 0);

namespace detail {
// Throws std::invalid_argument, naming `op`, unless x is (n, F) with n > 0, y is empty or has n
// labels in [0, classes), and target is undefined or (n, T).
void check_dataset(const char* op, const Dataset& ds);
}  // namespace detail

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;     // a new order every epoch, drawn from (seed, epoch)
  bool drop_last = false;  // skip a last batch smaller than batch_size
  uint64_t seed = 0;
  // Data parallelism (as PyTorch's DistributedSampler): this loader yields only shard `rank` of
  // `num_replicas`. Every rank draws the same epoch order (same seed), pads it by repeating its
  // first indices to a multiple of num_replicas, and takes every num_replicas-th index from
  // position `rank`: the shards are disjoint (but for the padding), each has ceil(n /
  // num_replicas) samples, and so every rank runs the same number of batches. Batch b of the
  // ranks together is then batch b of one loader with batch_size * num_replicas (when n divides).
  // Typically {.num_replicas = mg::dist::world_size(), .rank = mg::dist::rank()}.
  int64_t num_replicas = 1;
  int64_t rank = 0;
};

// One batch: rows of the data set in the loader's order for this epoch.
struct Batch {
  Tensor x;                // (B, F)
  std::vector<int64_t> y;  // B labels (empty for regression)
  Tensor target;           // (B, 1) for regression, else undefined
};

// Iterates a data set in batches: `for (const mg::data::Batch& b : loader) ...`.
// Each `begin()` starts the next epoch (epoch 0, 1, ...), with its own order when shuffling; the
// order of epoch e depends only on (seed, e), so a run resumed at epoch e with set_epoch(e) sees
// the same batches. The loader reuses its batch buffers: a batch is valid until the iterator
// advances (clone() what must outlive it). The data set must outlive the loader.
class DataLoader {
 public:
  DataLoader(const Dataset& dataset, LoaderOptions options);

  class Iterator {
   public:
    const Batch& operator*() const { return loader_->batch_; }
    const Batch* operator->() const { return &loader_->batch_; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    friend class DataLoader;
    Iterator(DataLoader* loader, int64_t index) : loader_(loader), index_(index) {}
    DataLoader* loader_;
    int64_t index_;
  };

  Iterator begin();  // starts the next epoch
  Iterator end() { return Iterator(this, num_batches()); }

  int64_t num_batches() const;              // batches per epoch (of this shard)
  int64_t num_samples() const;              // samples per epoch in this shard
  int64_t epoch() const { return epoch_; }  // the epoch the next begin() starts
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  // This shard's sample indices for the current epoch, in batch order (tests, debugging).
  const std::vector<int64_t>& order() const { return order_; }

 private:
  void fill(int64_t batch_index);  // copies rows of batch `batch_index` into batch_
  static std::vector<int64_t> identity_order(int64_t n);  // 0, 1, ..., n - 1
  void shard(const std::vector<int64_t>& order);          // order_ = this shard of `order`

  const Dataset& dataset_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;   // (num_samples) this shard's sample indices for this epoch
  Batch batch_;                  // what the iterator hands out
  Tensor full_x_, full_target_;  // (batch_size, F), (batch_size, 1): reused every batch
  Tensor tail_x_, tail_target_;  // the smaller last batch, when there is one
};

}  // namespace mg::data

// Synthetic data sets, train_test_split and DataLoader: determinism by seed, class balance,
// shapes, the geometry each generator promises, batching, drop_last, per-epoch shuffling, and
// what a last batch of one sample does to BatchNorm1d.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "core/data.hpp"
#include "core/error.hpp"
#include "layers/batchnorm1d.hpp"

using Catch::Contains;
using mg::data::Batch;
using mg::data::DataLoader;
using mg::data::Dataset;
using mg::data::LoaderOptions;

namespace {

std::vector<int64_t> class_counts(const Dataset& ds) {
  std::vector<int64_t> counts(ds.classes, 0);
  for (int64_t c : ds.y) ++counts.at(c);
  return counts;
}

// A data set whose row i is (i, -i) with label i % 3, so a batch row tells which sample it is.
Dataset indexed(int64_t n) {
  Dataset ds;
  ds.x = mg::Tensor::empty({n, 2});
  ds.classes = 3;
  for (int64_t i = 0; i < n; ++i) {
    ds.x.data()[2 * i] = static_cast<float>(i);
    ds.x.data()[2 * i + 1] = static_cast<float>(-i);
    ds.y.push_back(i % 3);
  }
  return ds;
}

// The sample indices of one epoch, batch after batch, read back from the rows (x0 = index);
// also checks each row's label and second feature belong to that sample.
std::vector<std::vector<int64_t>> epoch_indices(DataLoader& loader) {
  std::vector<std::vector<int64_t>> batches;
  for (const Batch& b : loader) {
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < b.x.size(0); ++i) {
      const auto k = static_cast<int64_t>(b.x.at(i, 0));
      REQUIRE(b.x.at(i, 1) == -static_cast<float>(k));
      REQUIRE(b.y.at(i) == k % 3);
      idx.push_back(k);
    }
    REQUIRE(b.y.size() == idx.size());
    batches.push_back(idx);
  }
  return batches;
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("data sets: shapes, labels and class balance", "[data]") {
  for (const Dataset& ds :
       {mg::data::make_spirals(301, 3, 0.1, 1), mg::data::make_blobs(301, 3, 0.5, 1),
        mg::data::make_circles(301, 3, 0.05, 1)}) {
    CHECK(ds.x.shape() == mg::Shape{301, 2});
    CHECK(ds.classes == 3);
    CHECK(!ds.target.defined());
    CHECK(class_counts(ds) == std::vector<int64_t>{101, 100, 100});
  }
  const Dataset moons = mg::data::make_moons(101, 0.1, 1);
  CHECK(moons.classes == 2);
  CHECK(class_counts(moons) == std::vector<int64_t>{51, 50});
  const Dataset reg = mg::data::make_regression(50, 0.1, 1);
  CHECK(reg.x.shape() == mg::Shape{50, 2});
  CHECK(reg.target.shape() == mg::Shape{50, 1});
  CHECK(reg.y.empty());
  CHECK(reg.classes == 0);
}

TEST_CASE("data sets: the same seed gives the same data, another seed other data", "[data]") {
  const Dataset a = mg::data::make_spirals(200, 3, 0.1, 7);
  const Dataset b = mg::data::make_spirals(200, 3, 0.1, 7);
  const Dataset c = mg::data::make_spirals(200, 3, 0.1, 8);
  CHECK(a.x.to_vector() == b.x.to_vector());
  CHECK(a.y == b.y);
  CHECK(a.x.to_vector() != c.x.to_vector());
  CHECK(mg::data::make_regression(20, 0.1, 3).target.to_vector() ==
        mg::data::make_regression(20, 0.1, 3).target.to_vector());
  // Pinned values: the generator and transforms are ours, so these hold on every compiler.
  const Dataset s = mg::data::make_spirals(4, 2, 0.0, 0);
  CHECK(s.x.at(0, 0) == Approx(0.1f));  // class 0, t = 0: radius 0.1 at angle 0
  CHECK(s.x.at(0, 1) == Approx(0.0f).margin(1e-7));
  CHECK(s.x.at(2, 0) == Approx(-0.1f));  // class 1 starts half a turn round
}

TEST_CASE("data sets: noise-free geometry", "[data]") {
  const double pi = std::numbers::pi;
  SECTION("spiral radii grow from 0.1 to 1 and the arm turns once") {
    const Dataset ds = mg::data::make_spirals(300, 3, 0.0, 0);
    for (int64_t i = 0; i < 300; ++i) {
      const double r = std::hypot(ds.x.at(i, 0), ds.x.at(i, 1));
      CHECK(r >= 0.1 - 1e-6);
      CHECK(r < 1.0);
    }
    // Sample 50 of class 0 is at t = 0.5: radius 0.55, angle pi.
    CHECK(ds.x.at(50, 0) == Approx(-0.55).margin(1e-5));
    CHECK(ds.x.at(50, 1) == Approx(0.0).margin(1e-5));
  }
  SECTION("circle c has radius (c + 1) / K") {
    const Dataset ds = mg::data::make_circles(90, 3, 0.0, 0);
    for (int64_t i = 0; i < 90; ++i)
      CHECK(std::hypot(ds.x.at(i, 0), ds.x.at(i, 1)) == Approx((ds.y[i] + 1) / 3.0).epsilon(1e-5));
  }
  SECTION("moons lie on two unit half circles") {
    const Dataset ds = mg::data::make_moons(40, 0.0, 0);
    for (int64_t i = 0; i < 40; ++i) {
      const double cx = ds.y[i] == 0 ? -0.5 : 0.5, cy = ds.y[i] == 0 ? -0.25 : 0.25;
      CHECK(std::hypot(ds.x.at(i, 0) - cx, ds.x.at(i, 1) - cy) == Approx(1.0).epsilon(1e-5));
      CHECK((ds.y[i] == 0 ? ds.x.at(i, 1) >= cy - 1e-6 : ds.x.at(i, 1) <= cy + 1e-6));
    }
  }
  SECTION("regression targets follow sin(pi x0) cos(pi x1)") {
    const Dataset ds = mg::data::make_regression(30, 0.0, 0);
    for (int64_t i = 0; i < 30; ++i) {
      CHECK(std::abs(ds.x.at(i, 0)) <= 1.0f);
      CHECK(ds.target.at(i, 0) ==
            Approx(std::sin(pi * ds.x.at(i, 0)) * std::cos(pi * ds.x.at(i, 1))).margin(1e-5));
    }
  }
}

TEST_CASE("data sets: blobs sit on their centres with the noise as standard deviation", "[data]") {
  const double pi = std::numbers::pi;
  const Dataset ds = mg::data::make_blobs(30000, 3, 0.5, 2);
  for (int64_t c = 0; c < 3; ++c) {
    double sx = 0, sy = 0, sxx = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < ds.size(); ++i) {
      if (ds.y[i] != c) continue;
      sx += ds.x.at(i, 0), sy += ds.x.at(i, 1), sxx += ds.x.at(i, 0) * ds.x.at(i, 0);
      ++m;
    }
    const double mx = sx / m, my = sy / m;
    CHECK(mx == Approx(2 * std::cos(2 * pi * c / 3)).margin(0.03));
    CHECK(my == Approx(2 * std::sin(2 * pi * c / 3)).margin(0.03));
    CHECK(std::sqrt(sxx / m - mx * mx) == Approx(0.5).margin(0.02));
  }
}

TEST_CASE("data sets: bad arguments name the function and the value", "[data]") {
  CHECK(error_of([] { mg::data::make_spirals(100, 1, 0.1, 0); }) ==
        "make_spirals: expected classes >= 2, got 1");
  CHECK(error_of([] { mg::data::make_blobs(2, 3, 0.1, 0); }) ==
        "make_blobs: expected samples >= classes (3), got 2");
  CHECK(error_of([] { mg::data::make_moons(100, -0.5, 0); }) ==
        "make_moons: expected a finite noise >= 0, got -0.5");
  CHECK(error_of([] { mg::data::make_circles(100, 2, NAN, 0); }) ==
        "make_circles: expected a finite noise >= 0, got nan");
}

TEST_CASE("train_test_split: stratified, disjoint, complete and seeded", "[data]") {
  const Dataset ds = indexed(300);  // 100 per class
  const auto [train, test] = mg::data::train_test_split(ds, 0.2, 5);
  CHECK(train.size() == 240);
  CHECK(test.size() == 60);
  CHECK(class_counts(train) == std::vector<int64_t>{80, 80, 80});
  CHECK(class_counts(test) == std::vector<int64_t>{20, 20, 20});
  std::set<int64_t> seen;
  for (const Dataset* half : {&train, &test}) {
    for (int64_t i = 0; i < half->size(); ++i) {
      const auto k = static_cast<int64_t>(half->x.at(i, 0));
      CHECK(half->y[i] == k % 3);  // rows travel with their labels
      seen.insert(k);
    }
  }
  CHECK(seen.size() == 300);  // every row in exactly one half
  const auto [train2, test2] = mg::data::train_test_split(ds, 0.2, 5);
  const auto [train3, test3] = mg::data::train_test_split(ds, 0.2, 6);
  CHECK(test2.x.to_vector() == test.x.to_vector());
  CHECK(test3.x.to_vector() != test.x.to_vector());

  const Dataset reg = mg::data::make_regression(10, 0.0, 0);
  const auto [rtrain, rtest] = mg::data::train_test_split(reg, 0.3, 0);
  CHECK(rtest.size() == 3);
  CHECK(rtest.target.shape() == mg::Shape{3, 1});

  CHECK(error_of([&] { mg::data::train_test_split(ds, 1.0, 0); }) ==
        "train_test_split: expected 0 < test_fraction < 1, got 1");
  CHECK_THAT(error_of([&] { mg::data::train_test_split(indexed(3), 0.1, 0); }),
             Contains("expected both halves non-empty, got 3 train and 0 test samples"));
}

TEST_CASE("DataLoader: batch shapes, drop_last and the last small batch", "[data]") {
  const Dataset ds = indexed(10);
  DataLoader keep(ds, {.batch_size = 4, .shuffle = false});
  CHECK(keep.num_batches() == 3);
  auto batches = epoch_indices(keep);
  CHECK(batches ==
        std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});  // in order

  DataLoader drop(ds, {.batch_size = 4, .shuffle = true, .drop_last = true, .seed = 1});
  CHECK(drop.num_batches() == 2);
  batches = epoch_indices(drop);
  REQUIRE(batches.size() == 2);
  for (const auto& b : batches) CHECK(b.size() == 4);

  const Dataset reg = mg::data::make_regression(5, 0.0, 0);
  DataLoader rl(reg, {.batch_size = 2, .shuffle = false});
  int64_t rows = 0;
  for (const Batch& b : rl) {
    CHECK(b.target.shape() == mg::Shape{b.x.size(0), 1});
    for (int64_t i = 0; i < b.x.size(0); ++i, ++rows)
      CHECK(b.target.at(i, 0) == reg.target.at(rows, 0));
  }
  CHECK(rows == 5);
}

TEST_CASE("DataLoader: each epoch is a fresh permutation, fixed by (seed, epoch)", "[data]") {
  const Dataset ds = indexed(50);
  DataLoader a(ds, {.batch_size = 8, .seed = 3});
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> all;
    for (const auto& b : epoch_indices(a)) all.insert(all.end(), b.begin(), b.end());
    CHECK(all == a.order());
    std::vector<int64_t> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> expected(50);
    for (int64_t i = 0; i < 50; ++i) expected[i] = i;
    CHECK(sorted == expected);  // every sample exactly once
    CHECK(all != expected);     // and shuffled
    epochs.push_back(all);
  }
  CHECK(epochs[0] != epochs[1]);
  CHECK(epochs[1] != epochs[2]);

  DataLoader b(ds, {.batch_size = 8, .seed = 3});
  epoch_indices(b);
  CHECK(b.order() == epochs[0]);  // same seed, same order
  b.set_epoch(2);                 // a resumed run sees epoch 2's order directly
  epoch_indices(b);
  CHECK(b.order() == epochs[2]);
  DataLoader c(ds, {.batch_size = 8, .seed = 4});
  epoch_indices(c);
  CHECK(c.order() != epochs[0]);
}

TEST_CASE("DataLoader: batch buffers are reused, not reallocated", "[data]") {
  const Dataset ds = indexed(20);
  DataLoader loader(ds, {.batch_size = 6});
  std::set<const float*> buffers;
  for (int e = 0; e < 3; ++e)
    for (const Batch& b : loader) buffers.insert(b.x.data());
  CHECK(buffers.size() == 2);  // one for the full batches, one for the last batch of 2
}

TEST_CASE("DataLoader: bad options name the loader and the value", "[data]") {
  const Dataset ds = indexed(10);
  CHECK(error_of([&] { DataLoader(ds, {.batch_size = 0}); }) ==
        "DataLoader: expected batch_size >= 1, got 0");
  CHECK(error_of([&] { DataLoader(ds, {.batch_size = 11, .drop_last = true}); }) ==
        "DataLoader: with drop_last, expected batch_size <= 10 samples, got 11 (no batch left)");
  Dataset bad = indexed(4);
  bad.y[2] = 7;
  CHECK(error_of([&] { DataLoader(bad, {.batch_size = 2}); }) ==
        "DataLoader: expected labels in [0, 3), got 7 at index 2");
  CHECK(error_of([&] { DataLoader(Dataset{}, {.batch_size = 2}); }) ==
        "DataLoader: expected a data set with x of shape (n, F), n > 0, got no x");
}

TEST_CASE("DataLoader: shards as DistributedSampler: same order, disjoint, equal length",
          "[data]") {
  // 12 samples, 3 ranks, batch 2: batch b of the three shards together is batch b of one loader
  // with batch 6, and every epoch's order is the same one on every rank.
  const Dataset ds = indexed(12);
  DataLoader whole(ds, {.batch_size = 6, .seed = 5});
  std::vector<DataLoader> shards;
  for (int64_t r = 0; r < 3; ++r)
    shards.emplace_back(ds,
                        LoaderOptions{.batch_size = 2, .seed = 5, .num_replicas = 3, .rank = r});
  for (int epoch = 0; epoch < 2; ++epoch) {
    const auto expected = epoch_indices(whole);
    std::vector<std::vector<std::vector<int64_t>>> got;
    for (DataLoader& shard : shards) got.push_back(epoch_indices(shard));
    for (std::size_t b = 0; b < expected.size(); ++b) {
      std::vector<int64_t> together;
      for (int64_t r = 0; r < 3; ++r) {
        REQUIRE(got[r].size() == expected.size());
        together.insert(together.end(), got[r][b].begin(), got[r][b].end());
      }
      std::sort(together.begin(), together.end());
      std::vector<int64_t> want = expected[b];
      std::sort(want.begin(), want.end());
      CHECK(together == want);
    }
    // PyTorch's interleaving: rank r takes positions r, r + 3, r + 6, ... of the epoch's order.
    CHECK(shards[1].order() == std::vector<int64_t>{whole.order()[1], whole.order()[4],
                                                    whole.order()[7], whole.order()[10]});
  }
  // 10 samples over 4 ranks: each gets 3, the order padded with its own first two indices.
  const Dataset ten = indexed(10);
  for (int64_t r = 0; r < 4; ++r) {
    DataLoader shard(ten, {.batch_size = 3, .shuffle = false, .num_replicas = 4, .rank = r});
    CHECK(shard.num_samples() == 3);
    CHECK(shard.num_batches() == 1);
    const std::vector<int64_t> want = {r, r + 4, (r + 8) % 10};
    CHECK(epoch_indices(shard) == std::vector<std::vector<int64_t>>{want});
  }
  CHECK(error_of([&] { DataLoader(ten, {.num_replicas = 0}); }) ==
        "DataLoader: expected num_replicas >= 1, got 0");
  CHECK(error_of([&] { DataLoader(ten, {.num_replicas = 2, .rank = 2}); }) ==
        "DataLoader: expected rank in [0, 2), got 2");
  CHECK(error_of([&] {
          DataLoader(ten, {.batch_size = 4, .drop_last = true, .num_replicas = 4, .rank = 0});
        }) ==
        "DataLoader: with drop_last, expected batch_size <= 3 samples, got 4 (no batch left)");
}

TEST_CASE("DataLoader: a last batch of one sample trips BatchNorm1d, drop_last avoids it",
          "[data]") {
  const Dataset ds = indexed(9);  // batches of 4: 4, 4, 1
  mg::nn::BatchNorm1d bn(2);      // in training mode
  DataLoader keep(ds, {.batch_size = 4, .seed = 1});
  int64_t batches = 0;
  try {
    for (const Batch& b : keep) {
      bn(b.x);
      ++batches;
    }
    FAIL("the batch of one was accepted");
  } catch (const mg::ShapeError& e) {
    CHECK(batches == 2);  // the two full batches went through, the last one did not
    CHECK_THAT(e.what(), Contains("BatchNorm1d: expected more than 1 value per channel") &&
                             Contains("got input of shape (1, 2)") &&
                             Contains("a single value has no variance"));
  }
  DataLoader drop(ds, {.batch_size = 4, .drop_last = true, .seed = 1});
  batches = 0;
  for (const Batch& b : drop) {
    bn(b.x);
    ++batches;
  }
  CHECK(batches == 2);
}

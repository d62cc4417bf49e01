// Shape arithmetic at the edges: element counts that overflow 64 bits, byte counts no address
// space holds, negative and zero dims, and ranks minigrad does not support. Each is a ShapeError
// (or std::bad_alloc when the memory cannot be had) raised before anything is allocated or
// written; PyTorch 1.13 raises for the same shapes ("Storage size calculation overflowed",
// "Trying to create tensor with negative dimension") and gives the same zero-size results.
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "core/allocator.hpp"
#include "core/data.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

namespace {

// Bytes the allocator has handed out and not had back: a refused shape must leave it unchanged.
int64_t bytes_in_use() {
  return mg::allocator_stats().bytes_in_use;
}

}  // namespace

TEST_CASE("shapes: an element count over 2^63 - 1 is a ShapeError", "[shapes]") {
  const int64_t before = bytes_in_use();
  // 2^32 * 2^32 = 2^64 wrapped to 0 elements: a tensor that "worked" and crashed later.
  REQUIRE_THROWS_AS(Tensor::zeros({int64_t{1} << 32, int64_t{1} << 32}), mg::ShapeError);
  REQUIRE_THROWS_WITH(Tensor::zeros({int64_t{1} << 32, int64_t{1} << 32}),
                      "Shape: expected at most 2^63 - 1 elements, got shape (4294967296, "
                      "4294967296) (the count overflows)");
  REQUIRE_THROWS_WITH(Shape({int64_t{1} << 21, int64_t{1} << 21, int64_t{1} << 22}),
                      "Shape: expected at most 2^63 - 1 elements, got shape (2097152, 2097152, "
                      "4194304) (the count overflows)");
  // A zero dim holds no element, but the other dims' product (a stride) would still overflow.
  // PyTorch accepts (0, 2^62, 2^62) and refuses (2^62, 2^62, 0); minigrad refuses both.
  REQUIRE_THROWS_AS(Shape({0, int64_t{1} << 62, int64_t{1} << 62}), mg::ShapeError);
  REQUIRE_THROWS_AS(Shape({int64_t{1} << 62, int64_t{1} << 62, 0}), mg::ShapeError);
  CHECK(Shape({0, int64_t{1} << 31, int64_t{1} << 31}).numel() == 0);
  CHECK(Shape({3, int64_t{1} << 30, int64_t{1} << 31}).numel() == int64_t{3} << 61);
  CHECK(bytes_in_use() == before);
}

TEST_CASE("shapes: a byte count over 2^63 - 1 is a ShapeError, not a wrapped allocation",
          "[shapes]") {
  const int64_t before = bytes_in_use();
  // 2^62 floats are 2^64 bytes, which wrapped to a 0-byte block that the fill then overran.
  REQUIRE_THROWS_WITH(Tensor::zeros(Shape{int64_t{1} << 62}),
                      "Tensor: expected at most 2305843009213693951 elements of 4 bytes (2^63 - 1 "
                      "bytes), got shape (4611686018427387904)");
  // (2^61 + 1) floats used to hang in the allocator's size-class loop.
  REQUIRE_THROWS_AS(Tensor::zeros(Shape{(int64_t{1} << 61) + 1}), mg::ShapeError);
  REQUIRE_THROWS_WITH(TensorD::empty(Shape{int64_t{1} << 60}),
                      "Tensor: expected at most 1152921504606846975 elements of 8 bytes (2^63 - 1 "
                      "bytes), got shape (1152921504606846976)");
  REQUIRE_THROWS_AS(Tensor::full({int64_t{1} << 31, int64_t{1} << 31}, 1.0f), mg::ShapeError);
  CHECK(bytes_in_use() == before);
}

TEST_CASE("shapes: memory that cannot be had is std::bad_alloc, at once, for any size",
          "[shapes]") {
  const int64_t before = bytes_in_use();
  // 2^60 floats fit the byte limit (2^62 bytes) but no machine has them.
  REQUIRE_THROWS_AS(Tensor::zeros(Shape{int64_t{1} << 60}), std::bad_alloc);
  for (std::size_t bytes : {std::size_t{1} << 62, (std::size_t{1} << 62) + 1,
                            (std::size_t{1} << 63) + 4, std::numeric_limits<std::size_t>::max()}) {
    INFO(bytes);
    REQUIRE_THROWS_AS(mg::allocate(bytes), std::bad_alloc);
  }
  CHECK(bytes_in_use() == before);  // a refused request is not counted as in use
  // Ordinary sizes still round to their classes and come back.
  for (std::size_t bytes :
       {std::size_t{0}, std::size_t{1}, std::size_t{4097}, std::size_t{1} << 20}) {
    void* p = mg::allocate(bytes);
    REQUIRE(p != nullptr);
    mg::deallocate(p, bytes);
  }
  CHECK(bytes_in_use() == before);
}

TEST_CASE("shapes: sizes built from other shapes are checked where they are built", "[shapes]") {
  // matmul (2^40, 0) x (0, 2^40) and a broadcast of (2^40, 1, 0) with (1, 2^40, 0): both
  // operands are empty and valid, the result's count overflows. PyTorch raises for both.
  const int64_t big = int64_t{1} << 40;
  REQUIRE_THROWS_WITH(mg::matmul(Tensor::zeros({big, 0}), Tensor::zeros({0, big})),
                      "matmul: expected at most 2^63 - 1 elements, got shape (1099511627776, "
                      "1099511627776) (the count overflows)");
  REQUIRE_THROWS_WITH(mg::add(Tensor::zeros({big, 1, 0}), Tensor::zeros({1, big, 0})),
                      "add: expected at most 2^63 - 1 elements, got shape (1099511627776, "
                      "1099511627776, 0) (the count overflows)");
  // Layers size their parameters from user numbers.
  REQUIRE_THROWS_AS(mg::nn::Linear(int64_t{1} << 32, int64_t{1} << 32), mg::ShapeError);
  REQUIRE_THROWS_AS(mg::nn::LayerNorm(int64_t{1} << 62), mg::ShapeError);
  // So do the data sets: n samples of 2 features.
  REQUIRE_THROWS_AS(mg::data::make_regression(int64_t{1} << 62), mg::ShapeError);
}

TEST_CASE("shapes: negative dims are refused, as in PyTorch", "[shapes]") {
  REQUIRE_THROWS_AS(Tensor::zeros({-1}), mg::ShapeError);
  REQUIRE_THROWS_WITH(Tensor::zeros({2, -3}), "Shape: expected non-negative sizes, got -3");
  REQUIRE_THROWS_WITH(mg::reshape(Tensor::zeros({6}), {-2, -3}),
                      "Shape: expected non-negative sizes, got -2");
}

TEST_CASE("shapes: zero-size tensors go through the ops as in PyTorch", "[shapes]") {
  const Tensor e = Tensor::zeros({0, 3}, /*requires_grad=*/true);
  CHECK(e.numel() == 0);
  CHECK(mg::sum(e).item() == 0.0f);
  CHECK(mg::sum(e, 0).to_vector() == std::vector<float>{0, 0, 0});  // PyTorch: zeros(3)
  CHECK(mg::mean(e, 1).shape() == Shape{0});                        // PyTorch: shape (0,)
  CHECK(mg::add(e, Tensor::full({3}, 1.0f)).shape() == Shape{0, 3});
  CHECK(mg::reshape(e, {3, 0}).shape() == Shape{3, 0});
  CHECK(mg::transpose(e).shape() == Shape{3, 0});
  CHECK(mg::nn::Linear(3, 2)(e).shape() == Shape{0, 2});
  CHECK(mg::matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})).to_vector() ==
        std::vector<float>(6, 0.0f));  // an empty sum is 0, as in PyTorch
  mg::sum(mg::mul(e, e)).backward();
  CHECK(e.grad().shape() == Shape{0, 3});
  // A mean over no element is NaN in PyTorch; minigrad refuses it instead.
  REQUIRE_THROWS_WITH(mg::mean(e, 0), "mean: expected a non-empty dim 0, got shape (0, 3)");
  REQUIRE_THROWS_WITH(mg::mean(e), "mean: expected a non-empty input, got shape (0, 3)");
}

TEST_CASE("shapes: reshape to a rank other than 1 to 3 is a ShapeError", "[shapes]") {
  // A default Shape has rank 0 and numel() 1: reshaping a one-element tensor to it made a
  // tensor of rank 0, which no op accepts.
  REQUIRE_THROWS_AS(mg::reshape(Tensor::zeros({1}), Shape{}), mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::reshape(Tensor::zeros({1}), Shape{}),
                      "reshape: expected a shape of rank 1 to 3, got rank 0");
  REQUIRE_THROWS_WITH(mg::reshape(Tensor::zeros({6}), {2, 3, 1, 1}),
                      "Shape: expected a shape of rank 1 to 3, got rank 4");
  CHECK(mg::reshape(Tensor::zeros({6}), {1, 2, 3}).shape() == Shape{1, 2, 3});
}

TEST_CASE("Generator: below(0) and permutation(-1) throw instead of dividing by zero", "[shapes]") {
  mg::Generator gen(1);
  REQUIRE_THROWS_AS(gen.below(0), std::invalid_argument);
  REQUIRE_THROWS_WITH(gen.below(0), "Generator::below: expected n > 0, got 0");
  REQUIRE_THROWS_WITH(gen.permutation(-1), "Generator::permutation: expected n >= 0, got -1");
  CHECK(gen.below(1) == 0);
  CHECK(gen.permutation(0).empty());
}

TEST_CASE("DataLoader: a batch_size near 2^63 gives one batch, without overflow", "[shapes]") {
  const mg::data::Dataset ds = mg::data::make_blobs(10, 2, 0.5, 0);
  mg::data::DataLoader loader(ds, {.batch_size = std::numeric_limits<int64_t>::max()});
  REQUIRE(loader.num_batches() == 1);
  int64_t rows = 0;
  for (const mg::data::Batch& b : loader) rows += b.x.size(0);
  CHECK(rows == 10);
  // Sharded over "2^63 - 1 replicas": rank 0 gets one sample (a padded epoch of one per rank).
  mg::data::DataLoader shard(
      ds, {.batch_size = 4, .num_replicas = std::numeric_limits<int64_t>::max()});
  CHECK(shard.num_batches() == 1);
}

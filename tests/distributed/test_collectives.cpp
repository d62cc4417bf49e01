// mg::dist's collectives and the module-level helpers, on P ranks (and alone): values each rank
// can predict from P alone, and the size checks that make every rank throw together.
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/distributed.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/data_parallel.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"

using Catch::Contains;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("all_reduce_sum, broadcast and all_gather", "[dist]") {
  const int P = mg::dist::world_size();
  const int r = mg::dist::rank();
  CHECK(P >= 1);
  CHECK(r < P);

  // Rank r sends (r + 1, 10 (r + 1)): the sums are P (P + 1) / 2 times (1, 10).
  std::vector<float> f = {float(r + 1), float(10 * (r + 1))};
  mg::dist::all_reduce_sum(f);
  CHECK(f == std::vector<float>{P * (P + 1) / 2.0f, 10 * P * (P + 1) / 2.0f});
  TensorD t = TensorD::full({2, 3}, r + 0.5);
  mg::dist::all_reduce_sum(t);
  CHECK(t.to_vector() == std::vector<double>(6, P * P / 2.0));

  // The last rank's values reach everyone.
  std::vector<double> d = {double(r), -double(r)};
  mg::dist::broadcast(d, P - 1);
  CHECK(d == std::vector<double>{double(P - 1), -double(P - 1)});
  Tensor w = Tensor::full({3}, float(r));
  mg::dist::broadcast(w, P - 1);
  CHECK(w.to_vector() == std::vector<float>(3, float(P - 1)));

  // Uneven sizes: rank r sends r + 1 copies of r.
  std::vector<int64_t> counts;
  const std::vector<double> gathered =
      mg::dist::all_gather(std::vector<double>(r + 1, double(r)), &counts);
  std::vector<double> expected;
  std::vector<int64_t> expected_counts;
  for (int q = 0; q < P; ++q) {
    expected.insert(expected.end(), q + 1, double(q));
    expected_counts.push_back(q + 1);
  }
  CHECK(gathered == expected);
  CHECK(counts == expected_counts);
  // Tensors: rank r holds (r, 2) rows of r, rank 0 an empty (0, 2).
  const Tensor rows = mg::dist::all_gather(Tensor::full({r, 2}, float(r)));
  CHECK(rows.shape() == mg::Shape{P * (P - 1) / 2, 2});
  std::vector<float> expected_rows;
  for (int q = 0; q < P; ++q) expected_rows.insert(expected_rows.end(), 2 * q, float(q));
  CHECK(rows.to_vector() == expected_rows);
}

TEST_CASE("collectives refuse sizes that differ between ranks, on every rank", "[dist][errors]") {
  const int P = mg::dist::world_size();
  const int r = mg::dist::rank();
  if (P == 1) {
    std::vector<float> two(2);
    CHECK_THROWS_WITH(mg::dist::broadcast(two, 1),
                      "mg::dist::broadcast: expected a root rank in [0, 1), got 1");
    return;
  }
  std::vector<float> v(r + 1);
  CHECK_THROWS_WITH(mg::dist::all_reduce_sum(v),
                    "mg::dist::all_reduce_sum: expected the same number of values on every "
                    "rank, got " + std::to_string(r + 1) + " on rank " + std::to_string(r) +
                        " and from 1 to " + std::to_string(P) + " across the ranks");
  CHECK_THROWS_WITH(mg::dist::broadcast(v), Contains("expected the same number of values"));
  CHECK_THROWS_AS(mg::dist::all_gather(Tensor::zeros({2, r + 1})), mg::ShapeError);
  // After the refusals, the ranks still agree: the next collective works.
  std::vector<double> one = {1.0};
  mg::dist::all_reduce_sum(one);
  CHECK(one[0] == P);
}

TEST_CASE("broadcast_parameters and average_gradients", "[dist]") {
  const int P = mg::dist::world_size();
  const int r = mg::dist::rank();
  mg::Generator gen(100 + r);  // a different initialisation on every rank
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(3, 4, {}, gen));
  auto& bn = net.push_back(mg::nn::BatchNorm1d(4));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(4, 2, {}, gen));
  bn.running_mean.flat().setConstant(float(r));
  bn.num_batches_tracked = 10 + r;

  mg::dist::broadcast_parameters(net, P - 1);
  mg::Generator last(100 + P - 1);  // what the last rank drew
  mg::nn::Linear first(3, 4, {}, last);
  CHECK(net.at<mg::nn::Linear>(0).weight.to_vector() == first.weight.to_vector());
  CHECK(bn.running_mean.to_vector() == std::vector<float>(4, float(P - 1)));
  CHECK(bn.num_batches_tracked == 10 + P - 1);

  // Gradients: rank r holds r + 1 everywhere, except that only rank 0 has one for the last bias.
  for (Tensor& p : net.parameters()) p.grad_flat().setConstant(float(r + 1));
  Tensor head_bias = net.at<mg::nn::Linear>(3).bias;
  if (r != 0) head_bias.clear_grad();
  mg::dist::average_gradients(net);
  const float mean = (P + 1) / 2.0f;  // mean of 1..P
  CHECK(net.at<mg::nn::Linear>(0).weight.grad().to_vector() == std::vector<float>(12, mean));
  CHECK(bn.weight.grad().to_vector() == std::vector<float>(4, mean));
  // Rank 0's ones, and zeros elsewhere: 1 / P, and now every rank has the .grad().
  REQUIRE(head_bias.grad().defined());
  CHECK(head_bias.grad().to_vector() == std::vector<float>(2, 1.0f / P));
}

// SyncBatchNorm1d over P processes equals BatchNorm1d on the whole batch in one process, in
// float64 to 1e-12: y and dx row by row, dgamma and dbeta summed over the ranks, running_mean,
// running_var and num_batches_tracked on every rank, over two steps. Each rank computes the
// one-process reference itself, on the whole batch (every rank draws it from the same seed).
//
// Runs under `mpirun -np 2` and `-np 3` (and alone, where SyncBatchNorm1d is BatchNorm1d). Only
// CHECKs: a failed REQUIRE would stop one rank while the others wait in a collective.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "core/distributed.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/sync_batchnorm1d.hpp"

using Catch::Contains;
using mg::TensorD;
using mg::nn::BatchNormOptions;
using BatchNormD = mg::nn::BasicBatchNorm1d<double>;
using SyncBatchNormD = mg::nn::BasicSyncBatchNorm1d<double>;

namespace {

constexpr double kTolerance = 1e-12;

// The rows of an (N, C) or (N, C, L) tensor from `begin` to `end`, as a new leaf.
TensorD rows(const TensorD& t, int64_t begin, int64_t end, bool requires_grad) {
  const int64_t row = t.numel() / t.size(0);
  std::vector<double> v(t.data() + begin * row, t.data() + end * row);
  const TensorD out = t.rank() == 3 ? TensorD::from_vector(v, {end - begin, t.size(1), t.size(2)})
                                    : TensorD::from_vector(v, {end - begin, t.size(1)});
  TensorD copy = out;
  copy.set_requires_grad(requires_grad);
  return copy;
}

// Largest |a - b| / max(1, |b|) over the elements (b the reference).
double worst(const double* a, const double* b, int64_t n) {
  double w = 0;
  for (int64_t i = 0; i < n; ++i)
    w = std::max(w, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return w;
}

// Worst difference per quantity, over every case this rank ran (printed by rank 0 at the end).
struct Worst {
  double y = 0, dx = 0, dgamma = 0, dbeta = 0, running_mean = 0, running_var = 0;
};
Worst& worst_seen() {
  static Worst w;
  return w;
}

// Each rank's first row and row count for a batch split into `counts` (one per rank).
std::pair<int64_t, int64_t> my_slice(const std::vector<int64_t>& counts) {
  const int r = mg::dist::rank();
  const int64_t begin = std::accumulate(counts.begin(), counts.begin() + r, int64_t{0});
  return {begin, begin + counts[r]};
}

void compare_with_whole_batch(const std::vector<int64_t>& counts, int64_t C, int64_t L,
                              BatchNormOptions options, uint64_t seed) {
  const int64_t N = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  const auto [begin, end] = my_slice(counts);
  BatchNormD whole(C, options);
  SyncBatchNormD sync(C, options);
  mg::Generator gen(seed);
  if (options.affine) {  // gamma and beta away from 1 and 0, the same on every rank
    for (TensorD* p : {&whole.weight, &whole.bias})
      for (int64_t c = 0; c < C; ++c) p->data()[c] = gen.uniform(-1.5, 1.5);
    sync.weight.flat() = whole.weight.flat();
    sync.bias.flat() = whole.bias.flat();
  }
  for (int step = 0; step < 2; ++step) {
    // The whole batch (N, C[, L]) and a random upstream gradient, offset so that the mean
    // matters; every rank draws the same.
    TensorD x = L == 1 ? TensorD::randn({N, C}, gen) : TensorD::randn({N, C, L}, gen);
    x.flat() += 3.0;
    const TensorD dy = L == 1 ? TensorD::randn({N, C}, gen) : TensorD::randn({N, C, L}, gen);
    TensorD x_whole = x.clone().set_requires_grad(true);
    const TensorD y_whole = whole(x_whole);
    y_whole.backward(dy);

    TensorD x_mine = rows(x, begin, end, true);
    const TensorD y_mine = sync(x_mine);
    y_mine.backward(rows(dy, begin, end, false));

    const int64_t row = C * L;
    Worst& w = worst_seen();
    const double dy_err = worst(y_mine.data(), y_whole.data() + begin * row, (end - begin) * row);
    const double dx_err =
        end > begin
            ? worst(x_mine.grad().data(), x_whole.grad().data() + begin * row, (end - begin) * row)
            : 0.0;
    CHECK(dy_err < kTolerance);
    CHECK(dx_err < kTolerance);
    w.y = std::max(w.y, dy_err);
    w.dx = std::max(w.dx, dx_err);
    if (options.affine) {
      // Each rank holds the sums over its own rows; their sum over the ranks is the whole's.
      std::vector<double> dgamma = sync.weight.grad().to_vector();
      std::vector<double> dbeta = sync.bias.grad().to_vector();
      mg::dist::all_reduce_sum(std::span<double>(dgamma));
      mg::dist::all_reduce_sum(std::span<double>(dbeta));
      const double g = worst(dgamma.data(), whole.weight.grad().data(), C);
      const double b = worst(dbeta.data(), whole.bias.grad().data(), C);
      CHECK(g < kTolerance);
      CHECK(b < kTolerance);
      w.dgamma = std::max(w.dgamma, g);
      w.dbeta = std::max(w.dbeta, b);
    }
    CHECK(sync.num_batches_tracked == whole.num_batches_tracked);
    if (options.track_running_stats) {
      const double m = worst(sync.running_mean.data(), whole.running_mean.data(), C);
      const double v = worst(sync.running_var.data(), whole.running_var.data(), C);
      CHECK(m < kTolerance);
      CHECK(v < kTolerance);
      w.running_mean = std::max(w.running_mean, m);
      w.running_var = std::max(w.running_var, v);
    }
  }
  // And in eval, with the running statistics: BatchNorm1d's own code on both sides, an empty
  // slice included (it gives an empty output).
  if (!options.track_running_stats) return;
  whole.eval();
  sync.eval();
  const TensorD x = L == 1 ? TensorD::randn({N, C}, gen) : TensorD::randn({N, C, L}, gen);
  const TensorD y_whole = whole(x);
  const TensorD y_mine = sync(rows(x, begin, end, false));
  CHECK(y_mine.size(0) == end - begin);
  CHECK(worst(y_mine.data(), y_whole.data() + begin * C * L, (end - begin) * C * L) < kTolerance);
}

// Slices of the batch, one count per rank: even, uneven, and with an empty one.
std::vector<std::vector<int64_t>> slicings() {
  const int P = mg::dist::world_size();
  std::vector<int64_t> even(P, 4), uneven(P), empty(P, 3);
  for (int r = 0; r < P; ++r) uneven[r] = 2 * r + 1;  // 1, 3, 5, ...
  if (P == 1) uneven[0] = 5;
  empty[0] = P == 1 ? 5 : 0;
  return {even, uneven, empty};
}

}  // namespace

TEST_CASE("SyncBatchNorm1d over the ranks equals BatchNorm1d on the whole batch", "[dist]") {
  const std::vector<std::pair<std::string, BatchNormOptions>> option_sets = {
      {"defaults", {}},
      {"momentum None", {.momentum = std::nullopt}},
      {"affine off", {.affine = false}},
      {"tracking off", {.track_running_stats = false}},
      {"eps 0, momentum 1", {.eps = 0.0, .momentum = 1.0}},
  };
  uint64_t seed = 1;
  for (const auto& counts : slicings())
    for (const int64_t L : {1, 5})
      for (const auto& [name, options] : option_sets) {
        INFO(fmt::format("slices ({}), L = {}, {}", fmt::join(counts, ", "), L, name));
        compare_with_whole_batch(counts, 3, L, options, seed++);
      }
  if (mg::dist::rank() == 0) {
    const Worst& w = worst_seen();
    fmt::print(
        "SyncBatchNorm1d vs BatchNorm1d on the whole batch, {} ranks, worst |diff| / max(1, "
        "|ref|): y {:.1e}, dx {:.1e}, dgamma {:.1e}, dbeta {:.1e}, running_mean {:.1e}, "
        "running_var {:.1e}\n",
        mg::dist::world_size(), w.y, w.dx, w.dgamma, w.dbeta, w.running_mean, w.running_var);
  }
}

TEST_CASE("SyncBatchNorm1d in float near float's limits equals BatchNorm1d on the whole batch",
          "[dist]") {
  // Data whose statistics fail the fast kernels' limits (layers/batchnorm1d_fast.hpp,
  // fast_path_holds): deviations of 1e-20 with eps = 0, scale 1e30, and a mean of 1e38 (values
  // up to 3e38). Each is compared in float with BatchNorm1d on the whole batch (which runs
  // its plain loops there), to float's precision, and every gradient must be finite.
  struct Case {
    const char* what;
    double scale, offset, eps;
  };
  const std::vector<Case> cases = {{"spread 1e-20, eps 0", 1e-20, 3e-20, 0},
                                   {"scale 1e30", 1e30, 0, 1e-5},
                                   {"mean 1e38, values up to 3e38", 4e37, 1e38, 1e-5}};
  const int P = mg::dist::world_size();
  const std::vector<int64_t> counts(P, 64);  // 64 rows of 64 channels on every rank
  const auto [begin, end] = my_slice(counts);
  const int64_t N = 64 * P, C = 64;
  for (const Case& k : cases) {
    INFO(k.what);
    mg::Generator gen(5);
    mg::Tensor x = mg::Tensor::randn({N, C}, gen);
    x.flat() = x.flat() * float(k.scale) + float(k.offset);
    const mg::Tensor dy = mg::Tensor::randn({N, C}, gen);
    mg::nn::BatchNorm1d whole(C, {.eps = k.eps});
    mg::nn::SyncBatchNorm1d sync(C, {.eps = k.eps});
    mg::Tensor x_whole = x.clone().set_requires_grad(true);
    whole(x_whole).backward(dy);
    const int64_t row = C;
    std::vector<float> part(x.data() + begin * row, x.data() + end * row);
    mg::Tensor x_mine = mg::Tensor::from_vector(part, {end - begin, C}, /*requires_grad=*/true);
    const mg::Tensor y_mine = sync(x_mine);
    std::vector<float> dy_part(dy.data() + begin * row, dy.data() + end * row);
    y_mine.backward(mg::Tensor::from_vector(dy_part, {end - begin, C}));
    const mg::Tensor y_whole = whole(x);  // whole is still in training: the same batch statistics
    auto close = [](const float* a, const float* b, int64_t n) {
      bool ok = true;
      for (int64_t i = 0; i < n; ++i)
        ok = ok && std::isfinite(a[i]) &&
             std::abs(double(a[i]) - b[i]) <= 1e-5 * std::max(1.0, std::abs(double(b[i])));
      return ok;
    };
    CHECK(close(y_mine.data(), y_whole.data() + begin * row, (end - begin) * row));
    CHECK(close(x_mine.grad().data(), x_whole.grad().data() + begin * row, (end - begin) * row));
  }
}

TEST_CASE("SyncBatchNorm1d refuses on every rank together", "[dist][errors]") {
  const int P = mg::dist::world_size();
  const int r = mg::dist::rank();
  SyncBatchNormD bn(3);
  SECTION("one value per channel over all the ranks") {
    // Rank 0 holds one row, the others none: one value per channel in the whole batch.
    const TensorD x = TensorD::zeros({r == 0 ? 1 : 0, 3});
    CHECK_THROWS_WITH(bn(x), Contains("expected more than 1 value per channel"));
    CHECK(bn.num_batches_tracked == 0);
  }
  SECTION("an empty batch on every rank") {
    const TensorD x = TensorD::zeros({0, 3});
    CHECK_THROWS_WITH(bn(x), Contains(P == 1 ? "expected a non-empty batch"
                                             : "expected a non-empty batch on at least one rank"));
  }
  SECTION("a bad shape on the last rank") {
    const bool bad = r == P - 1;
    const TensorD x = TensorD::zeros({4, bad ? 2 : 3});
    if (bad) {
      CHECK_THROWS_AS(bn(x), mg::ShapeError);
      CHECK_THROWS_WITH(bn(x), Contains("expected input with 3 features, got (4, 2)"));
    } else {
      CHECK_THROWS_WITH(bn(x), "SyncBatchNorm1d: rank " + std::to_string(P - 1) +
                                   " refused its input (its own error says why), so rank " +
                                   std::to_string(r) + " stops too");
      CHECK_THROWS_WITH(bn(x), Contains("refused its input"));
    }
    CHECK(bn.num_batches_tracked == 0);
  }
}

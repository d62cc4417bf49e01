// The synthetic data sets and train_test_split. Legend: n = samples, K = classes.
// Points are computed in double and stored as float32, the training precision.
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "core/data.hpp"
#include "core/error.hpp"
#include "core/random.hpp"

namespace mg::data {
namespace {

constexpr double kPi = std::numbers::pi;

void check_args(const char* op, int64_t samples, int64_t classes, double noise) {
  if (classes < 2) fail<std::invalid_argument>("{}: expected classes >= 2, got {}", op, classes);
  if (samples < classes) {
    fail<std::invalid_argument>("{}: expected samples >= classes ({}), got {}", op, classes,
                                samples);
  }
  if (!(noise >= 0) || !std::isfinite(noise))
    fail<std::invalid_argument>("{}: expected a finite noise >= 0, got {}", op, noise);
}

// How many of the n samples class c gets: n / K each, the first n % K classes one more.
int64_t class_count(int64_t n, int64_t K, int64_t c) {
  return n / K + (c < n % K ? 1 : 0);
}

// Fills a classification data set class by class: point(c, i, m, gen) returns the noise-free
// point i of the m points of class c; Gaussian noise is added to each coordinate.
template <typename PointFn>
Dataset make_classes(int64_t n, int64_t K, double noise, uint64_t seed, PointFn point) {
  Generator gen(seed);
  Dataset ds;
  ds.x = Tensor::empty({n, 2});  // (n, 2)
  ds.y.reserve(n);
  ds.classes = K;
  float* x = ds.x.data();
  for (int64_t c = 0; c < K; ++c) {
    const int64_t m = class_count(n, K, c);
    for (int64_t i = 0; i < m; ++i) {
      const auto [px, py] = point(c, i, m, gen);
      const double nx = gen.normal(), ny = gen.normal();  // drawn in a fixed order
      *x++ = static_cast<float>(px + noise * nx);
      *x++ = static_cast<float>(py + noise * ny);
      ds.y.push_back(c);
    }
  }
  return ds;
}

struct Point {
  double x, y;
};

}  // namespace

Dataset make_spirals(int64_t samples, int64_t classes, double noise, uint64_t seed) {
  check_args("make_spirals", samples, classes, noise);
  // Arm c: radius r = 0.1 + 0.9 t and angle 2 pi (c / K + t) for t in [0, 1): one turn, the arms
  // rotated 1/K of a turn from each other. Starting at r = 0.1 keeps the centre, where every arm
  // would meet, from being a knot no classifier can untie.
  return make_classes(
      samples, classes, noise, seed, [classes](int64_t c, int64_t i, int64_t m, Generator&) {
        const double t = static_cast<double>(i) / static_cast<double>(m);
        const double r = 0.1 + 0.9 * t;
        const double angle = 2 * kPi * (static_cast<double>(c) / static_cast<double>(classes) + t);
        return Point{r * std::cos(angle), r * std::sin(angle)};
      });
}

Dataset make_moons(int64_t samples, double noise, uint64_t seed) {
  check_args("make_moons", samples, 2, noise);
  // Moon 0: the upper half of the unit circle. Moon 1: the lower half, shifted right by 1 and up
  // by 0.5 so the two hook into each other. Shifted by (-0.5, -0.25) to centre the picture.
  return make_classes(samples, 2, noise, seed, [](int64_t c, int64_t i, int64_t m, Generator&) {
    const double a =
        kPi * static_cast<double>(i) / static_cast<double>(std::max<int64_t>(m - 1, 1));
    if (c == 0) return Point{std::cos(a) - 0.5, std::sin(a) - 0.25};
    return Point{1 - std::cos(a) - 0.5, 0.5 - std::sin(a) - 0.25};
  });
}

Dataset make_blobs(int64_t samples, int64_t classes, double noise, uint64_t seed) {
  check_args("make_blobs", samples, classes, noise);
  // The centre of blob c is at angle 2 pi c / K on a circle of radius 2; the noise makes the blob.
  return make_classes(
      samples, classes, noise, seed, [classes](int64_t c, int64_t, int64_t, Generator&) {
        const double a = 2 * kPi * static_cast<double>(c) / static_cast<double>(classes);
        return Point{2 * std::cos(a), 2 * std::sin(a)};
      });
}

Dataset make_circles(int64_t samples, int64_t classes, double noise, uint64_t seed) {
  check_args("make_circles", samples, classes, noise);
  // Ring c has radius (c + 1) / K; each point sits at a uniformly random angle.
  return make_classes(samples, classes, noise, seed,
                      [classes](int64_t c, int64_t, int64_t, Generator& gen) {
                        const double r = static_cast<double>(c + 1) / static_cast<double>(classes);
                        const double a = gen.uniform(0, 2 * kPi);
                        return Point{r * std::cos(a), r * std::sin(a)};
                      });
}

Dataset make_regression(int64_t samples, double noise, uint64_t seed) {
  check_args("make_regression", samples, 2, noise);  // (2: any samples >= 2 will do)
  Generator gen(seed);
  Dataset ds;
  ds.x = Tensor::empty({samples, 2});       // (n, 2)
  ds.target = Tensor::empty({samples, 1});  // (n, 1)
  for (int64_t i = 0; i < samples; ++i) {
    const double x0 = gen.uniform(-1, 1), x1 = gen.uniform(-1, 1);
    const double t = std::sin(kPi * x0) * std::cos(kPi * x1) + noise * gen.normal();
    ds.x.data()[2 * i] = static_cast<float>(x0);
    ds.x.data()[2 * i + 1] = static_cast<float>(x1);
    ds.target.data()[i] = static_cast<float>(t);
  }
  return ds;
}

namespace {

// The rows `rows` of ds, in that order.
Dataset take_rows(const Dataset& ds, const std::vector<int64_t>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size()), F = ds.x.size(1);
  Dataset out;
  out.classes = ds.classes;
  out.x = Tensor::empty({n, F});  // (n, F)
  if (ds.target.defined()) out.target = Tensor::empty({n, ds.target.size(1)});
  for (int64_t i = 0; i < n; ++i) {
    out.x.matrix().row(i) = ds.x.matrix().row(rows[i]);
    if (!ds.y.empty()) out.y.push_back(ds.y[rows[i]]);
    if (ds.target.defined()) out.target.matrix().row(i) = ds.target.matrix().row(rows[i]);
  }
  return out;
}

}  // namespace

namespace detail {

void check_dataset(const char* op, const Dataset& ds) {
  if (!ds.x.defined() || ds.x.rank() != 2 || ds.x.size(0) == 0) {
    fail<std::invalid_argument>("{}: expected a data set with x of shape (n, F), n > 0, got {}", op,
                                ds.x.defined() ? ds.x.shape().str() : "no x");
  }
  const int64_t n = ds.x.size(0);
  if (!ds.y.empty() && static_cast<int64_t>(ds.y.size()) != n)
    fail<std::invalid_argument>("{}: expected {} labels for x {}, got {}", op, n, ds.x.shape(),
                                ds.y.size());
  for (int64_t i = 0; i < static_cast<int64_t>(ds.y.size()); ++i) {
    if (ds.y[i] < 0 || ds.y[i] >= ds.classes) {
      fail<std::invalid_argument>("{}: expected labels in [0, {}), got {} at index {}", op,
                                  ds.classes, ds.y[i], i);
    }
  }
  if (ds.target.defined() && (ds.target.rank() != 2 || ds.target.size(0) != n))
    fail<std::invalid_argument>("{}: expected target of shape ({}, 1), got {}", op, n,
                                ds.target.shape());
}

}  // namespace detail

std::pair<Dataset, Dataset> train_test_split(const Dataset& ds, double test_fraction,
                                             uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    fail<std::invalid_argument>("train_test_split: expected 0 < test_fraction < 1, got {}",
                                test_fraction);
  }
  detail::check_dataset("train_test_split", ds);
  const int64_t n = ds.size();
  // Group the rows by class (one group for regression), shuffle each group, and send the first
  // round(test_fraction * group size) rows of each to the test set.
  const int64_t groups = ds.y.empty() ? 1 : ds.classes;
  std::vector<std::vector<int64_t>> rows(groups);
  for (int64_t i = 0; i < n; ++i) rows[ds.y.empty() ? 0 : ds.y[i]].push_back(i);
  Generator gen(seed);
  std::vector<int64_t> train, test;
  for (std::vector<int64_t>& group : rows) {
    const std::vector<int64_t> p = gen.permutation(static_cast<int64_t>(group.size()));
    const auto n_test = std::llround(test_fraction * static_cast<double>(group.size()));
    for (int64_t j = 0; j < static_cast<int64_t>(group.size()); ++j)
      (j < n_test ? test : train).push_back(group[p[j]]);
  }
  if (train.empty() || test.empty()) {
    fail<std::invalid_argument>(
        "train_test_split: expected both halves non-empty, got {} train and {} test samples "
        "(n = {}, test_fraction = {})",
        train.size(), test.size(), n, test_fraction);
  }
  return {take_rows(ds, train), take_rows(ds, test)};
}

}  // namespace mg::data

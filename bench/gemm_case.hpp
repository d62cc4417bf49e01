// One GEMM request of the benchmark, shared by bench_gemm (the candidate libraries) and
// bench_minigrad (mg::gemm): `gemm:MxNxK:TT`, T = n or t for A and B, asks for
// C (M, N) = op(A) op(B) with op(A) (M, K), op(B) (K, N), all row-major, as the MLP's products are
// written:  forward y = x W^T  (nt),  backward dx = dy W  (nn),  dW = dy^T x  (tn).
// The answer adds the GFLOP/s and the error against a product of the same inputs in double.
#pragma once

#include <functional>
#include <random>
#include <string>

#include <Eigen/Core>

#include "bench/timing.hpp"

namespace bench {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct GemmCase {
  int64_t M, N, K;
  bool ta, tb;
  RowMatrix a, b, c;  // a, b stored as op() reads them: a is (K, M) when ta, b is (N, K) when tb
};

inline GemmCase gemm_case(const std::string& arg) {
  const std::vector<int64_t> d = parse_dims(arg.substr(0, arg.find(':')));
  const std::string ops = arg.substr(arg.find(':') + 1);
  GemmCase g{d.at(0), d.at(1), d.at(2), ops.at(0) == 't', ops.at(1) == 't', {}, {}, {}};
  std::mt19937 gen(7);
  std::normal_distribution<float> normal;
  g.a = RowMatrix::NullaryExpr(g.ta ? g.K : g.M, g.ta ? g.M : g.K, [&] { return normal(gen); });
  g.b = RowMatrix::NullaryExpr(g.tb ? g.N : g.K, g.tb ? g.K : g.N, [&] { return normal(gen); });
  g.c = RowMatrix::Zero(g.M, g.N);
  return g;
}

// Times product() (which must leave op(A) op(B) in g.c) and checks its result.
inline Json time_gemm(GemmCase& g, const std::function<void()>& product, double min_seconds) {
  const Timing t = time_case([] {}, product, min_seconds, 5, 2000);
  const Eigen::MatrixXd a =
      g.ta ? Eigen::MatrixXd(g.a.cast<double>().transpose()) : g.a.cast<double>();
  const Eigen::MatrixXd b =
      g.tb ? Eigen::MatrixXd(g.b.cast<double>().transpose()) : g.b.cast<double>();
  const Eigen::MatrixXd exact = a * b;
  const double err =
      (g.c.cast<double>() - exact).cwiseAbs().maxCoeff() / exact.cwiseAbs().maxCoeff();
  Json out;
  out.num("us", t.median_us)
      .num("reps", static_cast<double>(t.reps))
      .num("gflops", 2.0 * double(g.M) * double(g.N) * double(g.K) / (t.median_us * 1e3))
      .num("rel_err", err);
  return out;
}

}  // namespace bench

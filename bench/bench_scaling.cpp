// Data-parallel scaling for `make bench`: the M network's training step (bench::mlp_size("M"),
// 1 thread per process, the same per-process batch) on every rank of `mpirun -np P`, with its
// gradients averaged across the ranks. Rank 0 prints one JSON line: the median step time, the
// median time a rank waits at a barrier for the slower one once its backward is done, the median
// time of the all-reduce after it (average_gradients: moving and adding the gradients), and the
// samples per second of all ranks together. bench/bench.py runs it with P = 1 and P = 2.
//
//   mpirun -np 2 --oversubscribe build/release/bench/bench_scaling [steps, default 40]
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "bench/timing.hpp"
#include "core/distributed.hpp"
#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/data_parallel.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  mg::dist::InitGuard mpi(argc, argv);
  omp_set_num_threads(1);
  const int steps = argc > 1 ? std::atoi(argv[1]) : 40;
  const bench::MlpSize m = bench::mlp_size("M");
  mg::Generator gen(2);
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(m.in, m.hidden, {}, gen));
  net.push_back(mg::nn::BatchNorm1d(m.hidden));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(m.hidden, m.hidden, {}, gen));
  net.push_back(mg::nn::BatchNorm1d(m.hidden));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(m.hidden, m.classes, {}, gen));
  mg::dist::broadcast_parameters(net);
  mg::optim::SGD opt(net.parameters(), {.lr = 0.01, .momentum = 0.9});
  mg::Generator data(10 + mg::dist::rank());  // each rank its own batch
  const mg::Tensor x = mg::Tensor::randn(mg::Shape{m.batch, m.in}, data);
  std::vector<int64_t> y(static_cast<size_t>(m.batch));
  for (int64_t& label : y) label = static_cast<int64_t>(data.below(m.classes));

  std::vector<double> step_us, wait_us, reduce_us;
  for (int i = 0; i < steps + 5; ++i) {  // the first 5 warm up
    mg::dist::barrier();                 // every rank starts the step together
    const double t0 = bench::now_us();
    opt.zero_grad();
    mg::nn::cross_entropy(net.forward(x), y).backward();
    const double t1 = bench::now_us();
    mg::dist::barrier();  // the faster rank waits here, so the all-reduce below is the transfer
    const double t1b = bench::now_us();
    mg::dist::average_gradients(net);
    const double t2 = bench::now_us();
    opt.step();
    const double t3 = bench::now_us();
    if (i < 5) continue;
    step_us.push_back(t3 - t0);
    wait_us.push_back(t1b - t1);
    reduce_us.push_back(t2 - t1b);
  }
  const int P = mg::dist::world_size();
  std::vector<double> mine = {median(step_us), median(wait_us), median(reduce_us)};
  // The slowest rank sets the pace: report the largest median over the ranks.
  const std::vector<double> all = mg::dist::all_gather(std::span<const double>(mine));
  double step = 0, wait = 0, reduce = 0;
  for (int r = 0; r < P; ++r) {
    step = std::max(step, all[3 * r]);
    wait = std::max(wait, all[3 * r + 1]);
    reduce = std::max(reduce, all[3 * r + 2]);
  }
  if (mg::dist::rank() == 0) {
    std::cout << bench::Json()
                     .num("processes", P)
                     .num("batch_per_process", static_cast<double>(m.batch))
                     .num("step_us", step)
                     .num("wait_us", wait)
                     .num("allreduce_us", reduce)
                     .num("samples_per_s", P * static_cast<double>(m.batch) / (step * 1e-6))
                     .text()
              << std::endl;
  }
}

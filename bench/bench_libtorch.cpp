// libtorch's side of `make bench` (built only when CMake finds Torch): the same cases as
// bench_minigrad, timed the same way (bench/timing.hpp), served to bench/bench.py.
#include <dlfcn.h>
#include <torch/torch.h>

#include <fstream>

#include "bench/timing.hpp"

namespace {

std::string timed(const std::function<void()>& setup, const std::function<void()>& run,
                  double min_seconds) {
  const bench::Timing t = bench::time_case(setup, run, min_seconds);
  return bench::Json().num("us", t.median_us).num("reps", t.reps).text();
}

std::string bn_case(const std::string& kind, const std::vector<int64_t>& dims, double min_seconds) {
  torch::manual_seed(1);
  const int64_t C = dims[1];
  torch::Tensor x = torch::randn(dims, torch::requires_grad());
  torch::Tensor dy = torch::randn(dims);
  torch::nn::BatchNorm1d bn(C);
  {
    torch::NoGradGuard no_grad;
    bn->weight.uniform_(-1, 1);
    bn->bias.uniform_(-1, 1);
  }
  torch::Tensor y;
  if (kind == "bn_train_fwd") return timed([] {}, [&] { y = bn->forward(x); }, min_seconds);
  if (kind == "bn_train_bwd")
    return timed([&] { y = bn->forward(x); }, [&] { y.backward(dy); }, min_seconds);
  if (kind == "bn_train_fwdbwd")
    return timed([] {}, [&] { bn->forward(x).backward(dy); }, min_seconds);
  if (kind == "bn_eval_fwd") {
    bn->eval();
    return timed([] {},
                 [&] {
                   torch::NoGradGuard no_grad;
                   y = bn->forward(x);
                 },
                 min_seconds);
  }
  return bench::Json().str("skip", "not measured for libtorch").text();
}

std::string mlp_case(const std::string& size, double min_seconds) {
  const bench::MlpSize m = bench::mlp_size(size);
  torch::manual_seed(2);
  torch::nn::Sequential net(torch::nn::Linear(m.in, m.hidden), torch::nn::BatchNorm1d(m.hidden),
                            torch::nn::ReLU(), torch::nn::Linear(m.hidden, m.hidden),
                            torch::nn::BatchNorm1d(m.hidden), torch::nn::ReLU(),
                            torch::nn::Linear(m.hidden, m.classes));
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  const torch::Tensor x = torch::randn({m.batch, m.in});
  const torch::Tensor y = torch::randint(m.classes, {m.batch}, torch::kLong);
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
  };
  return timed([] {}, step, min_seconds);
}

// The BLAS libtorch's GEMMs run on (from this process's mapped files), and OpenBLAS's kernels.
std::string blas_info() {
  torch::mm(torch::ones({64, 64}), torch::ones({64, 64}));  // the BLAS is loaded by now
  std::ifstream maps("/proc/self/maps");
  std::string line, lib = "no BLAS loaded";
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find("blas", slash) != std::string::npos) {
      lib = line.substr(slash);
      break;
    }
  }
  using Corename = const char* (*)();
  if (auto corename = reinterpret_cast<Corename>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
    lib += std::string(", ") + corename() + " kernels";
  return lib;
}

std::string run_case(const std::string& name, int threads, double min_seconds) {
  torch::set_num_threads(threads);
  const auto [kind, arg] = bench::split_case(name);
  if (kind == "info") return bench::Json().str("gemm", blas_info()).text();
  if (kind == "mlp_step") return mlp_case(arg, min_seconds);
  if (kind.rfind("bn_", 0) == 0) return bn_case(kind, bench::parse_dims(arg), min_seconds);
  return bench::Json().str("skip", "not measured for libtorch").text();
}

}  // namespace

int main() {
  return bench::serve(run_case);
}

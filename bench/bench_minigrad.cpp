// minigrad's side of `make bench`: a worker that times one case per request (protocol in
// bench/timing.hpp); bench/bench.py sends it the same cases as the PyTorch workers, interleaved.
//
//   bench_minigrad            serve requests on stdin
//   bench_minigrad --rss      train train_mlp's network for 20 epochs in this fresh process and
//                             print VmRSS after every epoch, VmHWM and OS allocations per epoch
//   bench_minigrad --profile CASE SECONDS [plain|fast]   one case, 1 thread (under valgrind
//                             --tool=callgrind), BatchNorm1d's path forced when given
//   bench_minigrad --all      no driver (no Python): run every case and print minigrad's table
//   bench_minigrad --paths [THREADS]   BatchNorm1d's plain loops against its fast path, forced
//                             in turn, interleaved, per shape: where the size threshold goes
//   bench_minigrad --grad-rule [THREADS]   a gradient assigned into a fresh buffer against one
//                             added into a zero-filled buffer, interleaved, per op and shape
//
// Cases (shapes as NxC or NxCxL): info (what the GEMMs run on), gemm:MxNxK:TT (mg::gemm,
// bench/gemm_case.hpp), triad, read:KIB[:WIDTH], bn_train_fwd:S, bn_train_bwd:S, bn_train_fwdbwd:S,
// bn_eval_fwd:S, bn_composed_fwdbwd:S, bn_saved_bytes:S, mlp_step:{S,M,L}, sgd_step:{S,M,L}.
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <Eigen/Core>

#include "bench/gemm_case.hpp"
#include "bench/timing.hpp"
#include "core/allocator.hpp"
#include "core/autograd.hpp"
#include "core/data.hpp"
#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/batchnorm1d_reference.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

namespace {

using mg::Tensor;

// minigrad's thread count is OpenMP's: its parallel loops and its GEMMs (core/gemm.cpp) read it.
void set_threads(int threads) {
  omp_set_num_threads(threads);
}

mg::Shape shape_of(const std::vector<int64_t>& d) {
  if (d.size() == 2) return mg::Shape{d[0], d[1]};
  if (d.size() == 3) return mg::Shape{d[0], d[1], d[2]};
  throw std::invalid_argument("expected NxC or NxCxL");
}

// STREAM's triad a = b + s * c over arrays far larger than the caches: the bandwidth a
// streaming kernel can reach on this machine with this many threads (12 bytes per element).
std::string triad(int threads, double min_seconds) {
  const int64_t n = int64_t{1} << 24;  // 64 MiB per array, far beyond the caches
  static std::vector<float> a(n, 0.f), b(n, 1.f), c(n, 2.f);  // paged in once per process
  const float s = 3.f;
  auto run = [&] {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
  };
  const bench::Timing t = bench::time_case([] {}, run, min_seconds, 5, 200);
  return bench::Json()
      .num("us", t.median_us)
      .num("reps", t.reps)
      .num("gbps", 12.0 * n / (t.median_us * 1e3))
      .text();
}

// Sums an array of `kib` KiB again and again on one thread, seen as rows of 1024 floats and read
// by blocks of `width` columns, every row of a block before the next block (width 1024: in memory
// order). The rate at which one core reads data that stays in its caches (up to a few MiB), or
// that comes from memory (64 MiB); and, with narrower blocks, what reading an (N, C) input tiled
// by channels would cost (docs/performance.md, "Where the time goes").
std::string read_case(int64_t kib, int64_t width, double min_seconds) {
  constexpr int64_t kCols = 1024, kLanes = 64;  // kLanes sums: several AVX-512 registers
  if (kib < 4 || kib > (int64_t{1} << 20) || width < kLanes || kCols % width != 0)
    return bench::Json()
        .str("skip", "expected read:KIB (4 to 2^20) or read:KIB:WIDTH (WIDTH divides 1024, >= 64)")
        .text();
  const int64_t rows = kib * 1024 / int64_t(sizeof(float)) / kCols;
  std::vector<float> a(static_cast<size_t>(rows * kCols));
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 7);
  float sink = 0;
  auto run = [&] {
    float lanes[kLanes] = {};
    for (int64_t c0 = 0; c0 < kCols; c0 += width)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j0 = 0; j0 < width; j0 += kLanes) {
          const float* p = a.data() + r * kCols + c0 + j0;
#pragma omp simd
          for (int64_t j = 0; j < kLanes; ++j) lanes[j] += p[j];
        }
    for (float v : lanes) sink += v;
  };
  const bench::Timing t = bench::time_case([] {}, run, min_seconds, 5, 200);
  return bench::Json()
      .num("us", t.median_us)
      .num("reps", t.reps)
      .num("gbps", 4.0 * double(rows * kCols) / (t.median_us * 1e3))
      .num("checksum", sink)
      .text();
}

// Times a case and reports the OS allocations per repetition seen while timing.
std::string timed(const std::function<void()>& setup, const std::function<void()>& run,
                  double min_seconds) {
  for (int i = 0; i < 3; ++i) {  // the first steps fill the allocator's cache (and SGD's buffers)
    setup();
    run();
  }
  const int64_t before = mg::allocator_stats().os_allocations;
  const bench::Timing t = bench::time_case(setup, run, min_seconds);
  const int64_t after = mg::allocator_stats().os_allocations;
  // Counted over time_case's own warm-up and its timed repetitions: all steady state.
  return bench::Json()
      .num("us", t.median_us)
      .num("reps", t.reps)
      .num("os_allocs", static_cast<double>(after - before))
      .text();
}

// Bytes a forward leaves alive for its backward, output excluded: tensor buffers (the caching
// allocator's bytes in use) plus every other heap block (graph nodes, closures, saved vectors).
// Measured after a warm-up, so the tensor buffers come from the cache and do not show up twice.
int64_t bytes_kept(const std::function<Tensor()>& forward) {
  for (int i = 0; i < 3; ++i) forward();
  const int64_t tensors0 = mg::allocator_stats().bytes_in_use;
  const int64_t heap0 = static_cast<int64_t>(mallinfo2().uordblks);
  Tensor y = forward();
  const int64_t tensors1 = mg::allocator_stats().bytes_in_use;
  const int64_t heap1 = static_cast<int64_t>(mallinfo2().uordblks);
  const int64_t output = y.numel() * static_cast<int64_t>(sizeof(float));
  return (tensors1 - tensors0) + (heap1 - heap0) - output;
}

std::string bn_case(const std::string& kind, const std::vector<int64_t>& dims, double min_seconds) {
  mg::Generator gen(1);
  const mg::Shape shape = shape_of(dims);
  const int64_t C = dims[1];
  Tensor x = Tensor::randn(shape, gen, /*requires_grad=*/true);
  Tensor dy = Tensor::randn(shape, gen);
  mg::nn::BatchNorm1d bn(C);
  bn.weight.flat().setRandom();
  bn.bias.flat().setRandom();
  Tensor y;

  if (kind == "bn_train_fwd") return timed([] {}, [&] { y = bn.forward(x); }, min_seconds);
  if (kind == "bn_train_bwd")
    return timed([&] { y = bn.forward(x); }, [&] { y.backward(dy); }, min_seconds);
  if (kind == "bn_train_fwdbwd")
    return timed([] {}, [&] { bn.forward(x).backward(dy); }, min_seconds);
  if (kind == "bn_eval_fwd") {
    bn.eval();
    return timed([] {},
                 [&] {
                   mg::NoGradGuard no_grad;
                   y = bn.forward(x);
                 },
                 min_seconds);
  }
  if (kind == "bn_composed_fwdbwd") {
    return timed([] {},
                 [&] { mg::nn::batchnorm1d_composed(x, bn.weight, bn.bias, 1e-5).backward(dy); },
                 min_seconds);
  }
  if (kind == "bn_saved_bytes") {
    const int64_t fused = bytes_kept([&] { return bn.forward(x); });
    const int64_t composed =
        bytes_kept([&] { return mg::nn::batchnorm1d_composed(x, bn.weight, bn.bias, 1e-5); });
    return bench::Json()
        .num("fused_bytes", static_cast<double>(fused))
        .num("composed_bytes", static_cast<double>(composed))
        .text();
  }
  return bench::Json().str("skip", "unknown case " + kind).text();
}

// in -> hidden (BN, ReLU) -> hidden (BN, ReLU) -> classes, as in examples/train_mlp.
mg::nn::Sequential make_mlp(int64_t in, int64_t hidden, int64_t classes, mg::Generator& gen) {
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(in, hidden, {}, gen));
  net.push_back(mg::nn::BatchNorm1d(hidden));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(hidden, hidden, {}, gen));
  net.push_back(mg::nn::BatchNorm1d(hidden));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(hidden, classes, {}, gen));
  return net;
}

// mlp_step: one training step of the MLP; sgd_step: its optimizer's step alone (SGD with
// momentum over every parameter, the gradients of one backward in place).
std::string mlp_case(const std::string& kind, const std::string& size, double min_seconds) {
  const bench::MlpSize m = bench::mlp_size(size);
  mg::Generator gen(2);
  mg::nn::Sequential net = make_mlp(m.in, m.hidden, m.classes, gen);
  mg::optim::SGD opt(net.parameters(), {.lr = 0.01, .momentum = 0.9});
  const Tensor x = Tensor::randn(mg::Shape{m.batch, m.in}, gen);
  std::vector<int64_t> y(static_cast<size_t>(m.batch));
  for (int64_t& label : y)
    label = static_cast<int64_t>(gen.below(static_cast<uint64_t>(m.classes)));
  // One training step: zero_grad, forward, cross-entropy, backward, SGD with momentum.
  auto step = [&] {
    opt.zero_grad();
    Tensor loss = mg::nn::cross_entropy(net.forward(x), y);
    loss.backward();
    opt.step();
  };
  if (kind == "sgd_step") {
    step();
    return timed([] {}, [&] { opt.step(); }, min_seconds);
  }
  return timed([] {}, step, min_seconds);
}

std::string run_case(const std::string& name, int threads, double min_seconds) {
  set_threads(threads);
  const auto [kind, arg] = bench::split_case(name);
  if (kind == "triad") return triad(threads, min_seconds);
  if (kind == "read") {  // read:KIB or read:KIB:WIDTH
    const size_t colon = arg.find(':');
    return read_case(std::atoll(arg.substr(0, colon).c_str()),
                     colon == std::string::npos ? 1024 : std::atoll(arg.substr(colon + 1).c_str()),
                     min_seconds);
  }
  if (kind == "info") return bench::Json().str("gemm", mg::gemm_backend_name()).text();
  if (kind == "gemm") {  // mg::gemm on one of the candidates' requests (bench/bench_gemm.cpp)
    bench::GemmCase g = bench::gemm_case(arg);
    return bench::time_gemm(
               g, [&] { mg::gemm<float>(g.a, g.ta, g.b, g.tb, 0.f, g.c); }, min_seconds)
        .str("kernels", mg::gemm_backend_name())
        .text();
  }
  if (kind == "mlp_step" || kind == "sgd_step") return mlp_case(kind, arg, min_seconds);
  if (kind.rfind("bn_", 0) == 0) return bn_case(kind, bench::parse_dims(arg), min_seconds);
  return bench::Json().str("skip", "unknown case " + name).text();
}

// train_mlp's default run (3 spiral arms, 1500 samples, 2 -> 64 -> 64 -> 3 with BN, batch 32,
// SGD lr 0.1, momentum 0.9, weight decay 5e-4) for 20 epochs, reporting memory per epoch.
int rss_run() {
  set_threads(1);
  const mg::data::Dataset all = mg::data::make_spirals(1500, 3, 0.2, 0);
  const auto [train, test] = mg::data::train_test_split(all, 0.2, 0);
  mg::data::DataLoader loader(train, {.batch_size = 32, .shuffle = true, .drop_last = false});
  mg::Generator gen(0);
  mg::nn::Sequential net = make_mlp(2, 64, 3, gen);
  mg::optim::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  std::string rss = "[", allocs = "[";
  int64_t steps = 0;
  for (int epoch = 0; epoch < 20; ++epoch) {
    const int64_t os0 = mg::allocator_stats().os_allocations;
    net.train();
    for (const mg::data::Batch& b : loader) {
      opt.zero_grad();
      mg::nn::cross_entropy(net.forward(b.x), b.y).backward();
      opt.step();
      ++steps;
    }
    net.eval();
    {
      mg::NoGradGuard no_grad;
      net.forward(test.x);
    }
    const int64_t os1 = mg::allocator_stats().os_allocations;
    if (epoch > 0) {
      rss.append(", ");
      allocs.append(", ");
    }
    rss.append(std::to_string(bench::memory_status_kib()["VmRSS"]));
    allocs.append(std::to_string(os1 - os0));
  }
  std::cout << bench::Json()
                   .raw("rss_kib_per_epoch", rss + "]")
                   .raw("os_allocs_per_epoch", allocs + "]")
                   .num("steps_per_epoch", static_cast<double>(steps / 20))
                   .num("hwm_kib", static_cast<double>(bench::memory_status_kib()["VmHWM"]))
                   .text()
            << std::endl;
  return 0;
}

// Microseconds per call of a and of b: rounds alternate a, b, a, b, ... (20 each), each round a
// batch of calls long enough to time (~2 ms); each side's fastest round counts. On a machine
// shared with other jobs a round is only ever slowed down, never sped up, and interleaving
// gives both sides the same chances of a quiet round: the minimum is the stable figure, where
// single timings and even medians move by factors.
std::pair<double, double> interleaved_best(const std::function<void()>& a,
                                           const std::function<void()>& b) {
  const std::function<void()>* f[2] = {&a, &b};
  int64_t calls = 1;
  for (int k = 0; k < 2; ++k) {  // warm up both; size a round at about 2 ms
    const double t0 = bench::now_us();
    for (int i = 0; i < 20; ++i) (*f[k])();
    calls = std::max<int64_t>(calls, int64_t(2000 / ((bench::now_us() - t0) / 20 + 1e-3)));
  }
  double best[2] = {1e300, 1e300};
  for (int round = 0; round < 40; ++round) {
    const int k = round % 2;
    const double t0 = bench::now_us();
    for (int64_t i = 0; i < calls; ++i) (*f[k])();
    best[k] = std::min(best[k], (bench::now_us() - t0) / double(calls));
  }
  return {best[0], best[1]};
}

// BatchNorm1d's two paths (layers/batchnorm1d.cpp chooses by size) on the same shapes:
// a training forward + backward and an eval forward, each path forced in turn, interleaved.
int paths_run(int threads) {
  set_threads(threads);
  struct Case {
    const char* what;
    std::vector<int64_t> dims;
  };
  const std::vector<Case> cases = {
      {"bench's small case", {32, 10}},
      {"demo: a training batch", {32, 64}},
      {"", {64, 64}},
      {"bench's MLP S", {128, 64}},
      {"demo: test set eval", {300, 64}},
      {"", {64, 128}},
      {"", {128, 128}},
      {"demo: train set eval", {1200, 64}},
      {"", {256, 256}},
      {"", {512, 256}},
      {"", {1024, 512}},
      {"", {4, 8, 32}},
      {"", {8, 8, 64}},
      {"", {16, 16, 32}},
      {"", {16, 32, 64}},
      {"", {32, 64, 64}},
      {"demo: decision-boundary grid", {22500, 64}},
  };
  std::printf("BatchNorm1d plain loops vs fast path, %d thread(s), best-round us per call\n",
              threads);
  std::printf("%-12s %9s  %10s %10s %6s  %10s %10s %6s  %s\n", "shape", "elements", "train plain",
              "fast", "ratio", "eval plain", "fast", "ratio", "");
  for (const Case& c : cases) {
    mg::Generator gen(1);
    const mg::Shape shape = shape_of(c.dims);
    Tensor x = Tensor::randn(shape, gen, /*requires_grad=*/true);
    const Tensor dy = Tensor::randn(shape, gen);
    mg::nn::BatchNorm1d bn(c.dims[1]);
    auto train_step = [&] {  // x's gradient fresh each time, as for a layer inside a network
      x.clear_grad();
      bn.forward(x).backward(dy);
    };
    auto eval_step = [&] {
      mg::NoGradGuard no_grad;
      bn.forward(x);
    };
    auto compare = [](const std::function<void()>& step) {
      return interleaved_best(
          [&] {
            mg::nn::set_batchnorm1d_path(mg::nn::BatchNormPath::plain);
            step();
          },
          [&] {
            mg::nn::set_batchnorm1d_path(mg::nn::BatchNormPath::fast);
            step();
          });
    };
    bn.train();
    const auto [train_plain, train_fast] = compare(train_step);
    bn.eval();
    const auto [eval_plain, eval_fast] = compare(eval_step);
    std::string name = std::to_string(c.dims[0]);
    for (size_t d = 1; d < c.dims.size(); ++d) name += "x" + std::to_string(c.dims[d]);
    std::printf("%-12s %9lld  %10.2f %10.2f %6.2f  %10.2f %10.2f %6.2f  %s\n", name.c_str(),
                static_cast<long long>(shape.numel()), train_plain, train_fast,
                train_plain / train_fast, eval_plain, eval_fast, eval_plain / eval_fast, c.what);
  }
  mg::nn::set_batchnorm1d_path(mg::nn::BatchNormPath::by_size);
  return 0;
}

// What the gradient rule costs (docs/architecture.md, "Gradients"): a backward that writes its
// input's whole gradient either assigns into a fresh buffer (grad_buffer() says it holds
// nothing), or, if every backward had to accumulate, would add into a buffer zero-filled first.
// Both, interleaved, per op and shape: x.clear_grad() before each step gives the fresh buffer,
// x.grad_flat().setZero() the zero-filled one (the same fill a fresh buffer would need).
int grad_rule_run(int threads) {
  set_threads(threads);
  std::printf(
      "fwd+bwd, %d thread(s), best-round us per call: x's gradient assigned into a fresh "
      "buffer vs added into a zero-filled one\n",
      threads);
  std::printf("%-22s %10s %10s %7s\n", "op, shape of x", "assign", "zero+add", "ratio");
  auto row = [](const std::string& name, Tensor& x, const std::function<void()>& step) {
    const auto [fresh, zeroed] = interleaved_best(
        [&] {
          x.clear_grad();
          step();
        },
        [&] {
          x.grad_flat().setZero();  // created zero-filled if missing, else filled with zeros
          step();
        });
    std::printf("%-22s %10.2f %10.2f %7.3f\n", name.c_str(), fresh, zeroed, zeroed / fresh);
    std::fflush(stdout);
  };
  mg::Generator gen(1);
  for (const std::vector<int64_t>& d :
       std::vector<std::vector<int64_t>>{{32, 64}, {256, 256}, {1024, 1024}, {4096, 1024}}) {
    const mg::Shape shape = shape_of(d);
    Tensor x = Tensor::randn(shape, gen, /*requires_grad=*/true);
    const Tensor dy = Tensor::randn(shape, gen);
    const std::string dims = std::to_string(d[0]) + "x" + std::to_string(d[1]);
    row("relu " + dims, x, [&] { mg::relu(x).backward(dy); });
    mg::nn::BatchNorm1d bn(d[1]);
    row("batchnorm1d " + dims, x, [&] { bn.forward(x).backward(dy); });
    if (d[0] * d[1] > 65536) continue;  // the GEMMs alone would take seconds per round
    mg::nn::Linear linear(d[1], d[1], {}, gen);
    row("linear " + dims, x, [&] { linear.forward(x).backward(dy); });
  }
  return 0;
}

// Without Python: every minigrad case, one line each.
int run_all() {
  std::vector<std::string> cases = {"triad"};
  for (const char* s : {"32x10", "256x256", "1024x512", "4096x1024", "16384x256", "64x128x256"})
    for (const char* k : {"bn_train_fwd", "bn_train_bwd", "bn_train_fwdbwd", "bn_eval_fwd",
                          "bn_composed_fwdbwd", "bn_saved_bytes"})
      cases.push_back(std::string(k) + ":" + s);
  for (const char* s : {"S", "M", "L"}) cases.push_back(std::string("mlp_step:") + s);
  std::cout << "PyTorch is not available (no python3 driver): minigrad's side only.\n";
  for (const std::string& c : cases)
    for (int threads : {1, 2})
      std::cout << c << " threads=" << threads << " " << run_case(c, threads, 0.2) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--rss") == 0) return rss_run();
  if (argc > 1 && std::strcmp(argv[1], "--all") == 0) return run_all();
  if (argc > 1 && std::strcmp(argv[1], "--paths") == 0)
    return paths_run(argc > 2 ? std::atoi(argv[2]) : 1);
  if (argc > 1 && std::strcmp(argv[1], "--grad-rule") == 0)
    return grad_rule_run(argc > 2 ? std::atoi(argv[2]) : 1);
  if (argc > 3 && std::strcmp(argv[1], "--profile") == 0) {  // for valgrind --tool=callgrind
    const double seconds = std::atof(argv[3]);
    if (argc > 4) {  // BatchNorm1d's path forced: plain or fast
      mg::nn::set_batchnorm1d_path(std::strcmp(argv[4], "fast") == 0
                                       ? mg::nn::BatchNormPath::fast
                                       : mg::nn::BatchNormPath::plain);
    }
    std::cout << run_case(argv[2], 1, seconds) << std::endl;
    return 0;
  }
  return bench::serve(run_case);
}

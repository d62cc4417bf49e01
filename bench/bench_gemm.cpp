// Single-precision GEMM candidates on the exact products of the benchmark's MLP steps: which BLAS
// minigrad's large products run on (docs/performance.md, "Choosing the BLAS"), and the machine
// limit the GEMM-bound cases are measured against. One candidate per process, a worker of
// bench/bench.py's protocol (bench/timing.hpp); requests `gemm:MxNxK:TT` (bench/gemm_case.hpp).
//
//   bench_gemm eigen                 Eigen's own GEMM
//   bench_gemm openblas CORETYPE     OpenBLAS (libopenblas.so.0) with that kernel set
//   bench_gemm blis [ARCH]           BLIS (libblis.so.4) with that kernel set (BLIS 0.9 numbers its
//                                    sets: 0 skx, 3 haswell, 6 zen3); without ARCH, BLIS detects
//   bench_gemm register              a trial kernel (bench/register_gemm.hpp), not a candidate
//
// OpenBLAS and BLIS choose their kernels when they are loaded, from the CPU or from an environment
// variable (OPENBLAS_CORETYPE, BLIS_ARCH_TYPE). This worker sets that variable in its own
// environment and only then loads the library, and refuses to run when the library reports other
// kernels than the ones asked for. It links no BLAS (nor minigrad, which links OpenBLAS): BLIS's
// CBLAS calls its own sgemm_, which an OpenBLAS loaded first would otherwise interpose.
// mg::gemm itself is timed by bench_minigrad, on the same requests.
#include <dlfcn.h>
#include <omp.h>
#include <strings.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <Eigen/Core>

#include "bench/gemm_case.hpp"
#include "bench/register_gemm.hpp"

namespace {

// cblas_sgemm's signature, with the enums as the ints both libraries define them as.
using CblasSgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                            const float* a, int lda, const float* b, int ldb, float beta, float* c,
                            int ldc);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

struct Backend {
  std::string name;
  std::string kernels;         // the kernel set in use, as the library reports it
  CblasSgemm sgemm = nullptr;  // null: Eigen
  void (*set_threads)(int) = nullptr;
};

// The trial kernel behind cblas_sgemm's signature, for the requests of gemm_case (alpha 1, beta 0,
// contiguous rows), on one thread.
void register_sgemm(int, int trans_a, int trans_b, int m, int n, int k, float, const float* a, int,
                    const float* b, int, float, float* c, int) {
  bench::register_gemm::sgemm(trans_a == kTrans, trans_b == kTrans, m, n, k, a, b, c);
}

Backend load(int argc, char** argv) {
  Backend b{argc > 1 ? argv[1] : "eigen", "", nullptr, nullptr};
  const std::string kernels = argc > 2 ? argv[2] : "";
  if (b.name == "eigen") {
    b.kernels = "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION);
    return b;
  }
  if (b.name == "register") {
    b.kernels = "register-blocked trial, 8x32";
    b.sgemm = register_sgemm;
    return b;
  }
  void* lib = nullptr;
  if (b.name == "openblas") {
    if (!kernels.empty()) setenv("OPENBLAS_CORETYPE", kernels.c_str(), 1);
    lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  } else if (b.name == "blis") {
    if (!kernels.empty()) setenv("BLIS_ARCH_TYPE", kernels.c_str(), 1);
    lib = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
  }
  if (!lib) {
    std::fprintf(stderr, "bench_gemm: cannot load %s: %s\n", b.name.c_str(), dlerror());
    std::exit(2);
  }
  // The kernels asked for, by name (OpenBLAS) or number (BLIS): reported back below.
  b.sgemm = reinterpret_cast<CblasSgemm>(dlsym(lib, "cblas_sgemm"));
  if (b.name == "openblas") {
    auto corename = reinterpret_cast<const char* (*)()>(dlsym(lib, "openblas_get_corename"));
    b.kernels = corename ? corename() : "?";
    b.set_threads = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
  } else {
    auto init = reinterpret_cast<void (*)()>(dlsym(lib, "bli_init"));
    auto query = reinterpret_cast<int (*)()>(dlsym(lib, "bli_arch_query_id"));
    auto name = reinterpret_cast<const char* (*)(int)>(dlsym(lib, "bli_arch_string"));
    init();
    b.kernels = name(query());
    b.set_threads = reinterpret_cast<void (*)(int)>(dlsym(lib, "bli_thread_set_num_threads"));
    if (!kernels.empty() && query() != std::atoi(kernels.c_str())) b.kernels += " (not as asked)";
  }
  if (b.name == "openblas" && !kernels.empty() && strcasecmp(b.kernels.c_str(), kernels.c_str())) {
    std::fprintf(stderr, "bench_gemm: asked for OpenBLAS's %s kernels, it runs %s\n",
                 kernels.c_str(), b.kernels.c_str());
    std::exit(2);
  }
  return b;
}

std::string run_gemm(const Backend& be, const std::string& arg, int threads, double min_seconds) {
  bench::GemmCase g = bench::gemm_case(arg);
  omp_set_num_threads(threads);  // Eigen's GEMM and OpenBLAS's OpenMP build read it
  if (be.set_threads) be.set_threads(threads);
  std::function<void()> product;
  if (be.sgemm) {
    product = [&] {
      be.sgemm(kRowMajor, g.ta ? kTrans : kNoTrans, g.tb ? kTrans : kNoTrans, int(g.M), int(g.N),
               int(g.K), 1.f, g.a.data(), int(g.a.cols()), g.b.data(), int(g.b.cols()), 0.f,
               g.c.data(), int(g.N));
    };
  } else {  // Eigen, each transpose spelt out so that it packs accordingly
    product = [&] {
      if (g.ta && g.tb)
        g.c.noalias() = g.a.transpose() * g.b.transpose();
      else if (g.ta)
        g.c.noalias() = g.a.transpose() * g.b;
      else if (g.tb)
        g.c.noalias() = g.a * g.b.transpose();
      else
        g.c.noalias() = g.a * g.b;
    };
  }
  return bench::time_gemm(g, product, min_seconds).str("kernels", be.kernels).text();
}

}  // namespace

int main(int argc, char** argv) {
  const Backend be = load(argc, argv);
  return bench::serve([&](const std::string& name, int threads, double min_seconds) {
    const auto [kind, arg] = bench::split_case(name);
    if (kind == "info") return bench::Json().str("gemm", be.kernels).text();
    if (kind != "gemm") return bench::Json().str("skip", "unknown case " + name).text();
    return run_gemm(be, arg, threads, min_seconds);
  });
}

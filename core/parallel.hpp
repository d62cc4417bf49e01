// Elementwise loops over large arrays, split over OpenMP's threads (as many as
// omp_set_num_threads or OMP_NUM_THREADS say, like every parallel loop in minigrad). Each element
// is computed by one thread with the same arithmetic whatever the split, so results do not depend
// on the thread count.
#pragma once

#include <omp.h>

#include <cstdint>

namespace mg {

// Below this many elements a loop stays on the calling thread: starting a parallel region costs
// a few µs. From 2^16 on, two threads win: BatchNorm1d fwd+bwd at 256x256 (2^16 values) took
// 42.8 µs on 1 thread and 31.5 on 2, at 256x512 86.7 and 59.2 (`bench/compare_builds.py`, this
// threshold at 2^18 against 2^16). BatchNorm1d's fast path, the unary ops, zero_grad and the
// optimizers' steps use it.
constexpr int64_t kParallelElements = int64_t{1} << 16;

// f(k0, k1) for contiguous ranges [k0, k1) that together cover [0, n) once: one range per
// thread from kParallelElements elements on, otherwise f(0, n) on the calling thread.
template <typename F>
void parallel_ranges(int64_t n, F f) {
  if (n < kParallelElements || omp_get_max_threads() == 1) {
    // A copy the parallel region never sees: f's address escapes to it, so a loop inlined from
    // f itself would reload f's captures after every store it makes, and not vectorise.
    const F alone = f;
    return alone(int64_t{0}, n);
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
    f(n * t / team, n * (t + 1) / team);
  }
}

}  // namespace mg

// OpenMP's runtime routines for the WebAssembly build, which has one thread and no OpenMP runtime
// (Emscripten ships none). They return what the OpenMP specification says a program running
// without OpenMP sees: one thread, number 0. The `#pragma omp` lines of the library are then
// ignored by the compiler (no -fopenmp), so every parallel region runs once, on that thread.
#pragma once

inline int omp_get_max_threads() {
  return 1;
}
inline int omp_get_num_threads() {
  return 1;
}
inline int omp_get_thread_num() {
  return 0;
}
inline void omp_set_num_threads(int) {}

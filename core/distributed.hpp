// mg::dist: data-parallel training over MPI (Open MPI), reduced to what minigrad needs.
//
// P copies of one program run side by side (`mpirun -np P ./train`), each a *rank* 0..P-1 with
// its own slice of every batch. They stay identical by exchanging numbers through collectives,
// calls that every rank makes in the same order:
//
//   all_reduce_sum(v)   every rank's v becomes the element-wise sum over the ranks
//   broadcast(v, root)  every rank's v becomes root's v
//   all_gather(v)       every rank gets all ranks' v, concatenated in rank order (sizes may differ)
//   barrier()           nobody continues until everybody has arrived
//
// A collective that one rank skips blocks the others forever, so the rule for code that calls
// them is: every rank runs the same sequence of collectives. The collectives here check that the
// ranks agree on the size first and throw on every rank (naming the sizes) when they do not.
//
// A world of one: when minigrad is built without MPI (-DMINIGRAD_MPI=OFF, or no MPI found) or
// the program was not started by mpirun, rank() = 0, world_size() = 1 and every collective
// leaves its argument as it is, so the same program runs unchanged in one process.
//
//   int main(int argc, char** argv) {
//     mg::dist::InitGuard mpi(argc, argv);   // init() now, finalize() at the end of main
//     if (mg::dist::rank() == 0) fmt::print("{} processes\n", mg::dist::world_size());
//   }
//
// Module-level helpers (broadcast_parameters, average_gradients) are in layers/data_parallel.hpp.
// docs/distributed.md explains the whole scheme.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"

namespace mg::dist {

// Starts MPI when the program was started by mpirun (MPI_Init_thread, funnelled: only the thread
// that called init() talks to MPI); otherwise sets up a world of one. Idempotent. May remove the
// arguments MPI added to argv.
void init(int& argc, char**& argv);
// Shuts MPI down when init() started it (every rank must call it); idempotent. After it, no
// collective may run.
void finalize();

// RAII: init() in the constructor, finalize() in the destructor.
class InitGuard {
 public:
  InitGuard(int& argc, char**& argv) { init(argc, argv); }
  ~InitGuard() { finalize(); }
  InitGuard(const InitGuard&) = delete;
  InitGuard& operator=(const InitGuard&) = delete;
};

// Whether this build of minigrad can talk MPI at all.
bool mpi_available();
// Whether init() started MPI (false in a world of one).
bool is_initialized();

// This process's rank in [0, world_size()), and the number of processes. Both throw
// std::logic_error when the program was started by mpirun with several processes but init() was
// not called yet (each would otherwise silently believe it is alone).
int rank();
int world_size();

// Blocks until every rank has called it.
void barrier();

// Ends every rank's process with `code` (MPI_Abort), for an error that only some ranks met: the
// others would wait in their next collective forever. In a world of one, std::exit(code).
[[noreturn]] void abort(int code);

// values (+)= the same span on every other rank; every rank ends with the sum, in the same order
// of additions on every rank (so the results are bit-identical across ranks).
void all_reduce_sum(std::span<float> values);
void all_reduce_sum(std::span<double> values);
template <typename T>
void all_reduce_sum(BasicTensor<T>& tensor);  // in place, on tensor.data()

// values = root's values, on every rank.
void broadcast(std::span<float> values, int root = 0);
void broadcast(std::span<double> values, int root = 0);
template <typename T>
void broadcast(BasicTensor<T>& tensor, int root = 0);

// Every rank's values, concatenated in rank order; each rank may contribute a different number.
// With counts, (*counts)[r] is how many values rank r sent.
std::vector<float> all_gather(std::span<const float> values,
                              std::vector<int64_t>* counts = nullptr);
std::vector<double> all_gather(std::span<const double> values,
                               std::vector<int64_t>* counts = nullptr);
// Tensors of shape (N_r, ...) -> (sum of N_r, ...): the first dimension may differ between
// ranks, the others must agree. A new leaf without gradient.
template <typename T>
BasicTensor<T> all_gather(const BasicTensor<T>& tensor);

}  // namespace mg::dist

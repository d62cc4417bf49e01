// mg::dist on top of MPI's C API (the only file of minigrad that includes <mpi.h>). Built without
// MPI (MINIGRAD_WITH_MPI undefined), every function below is the world of one.
#include "core/distributed.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

#ifdef MINIGRAD_WITH_MPI
#include <mpi.h>
#endif

namespace mg::dist {
namespace {

bool init_called = false;                // init() ran (MPI started or not)
bool mpi_active = false;                 // collectives go through MPI (false in a world of one)
[[maybe_unused]] bool owns_mpi = false;  // init() started MPI, so finalize() stops it (MPI builds)
bool finalized = false;                  // finalize() ran

// The number of processes mpirun (Open MPI, or a PMI launcher) says it started; 0 when this
// process was not started by a launcher.
int launcher_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* value = std::getenv(var)) return std::atoi(value);
  }
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK")) return 1;
  return 0;
}

void require_init(const char* op) {
  if (init_called) return;
  const int launched = launcher_world_size();
  if (launched > 1) {
    fail<std::logic_error>(
        "mg::dist::{}: this process is one of {} started by mpirun, but mg::dist::init(argc, "
        "argv) was not called yet",
        op, launched);
  }
}

// Whether a collective goes through MPI; throws when it may not run at all.
bool use_mpi(const char* op) {
  require_init(op);
  if (finalized) fail<std::logic_error>("mg::dist::{}: called after finalize()", op);
  return mpi_active;
}

#ifdef MINIGRAD_WITH_MPI

void check(const char* op, int code) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail<std::runtime_error>("mg::dist::{}: MPI failed: {}", op, std::string(text, length));
}

template <typename T>
MPI_Datatype mpi_type() {
  return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

// Every rank must pass the same count to a reduction or a broadcast; a mismatch would block or
// corrupt memory inside MPI. One small all-reduce of (count, -count) with MIN gives every rank
// the smallest and the largest count, so all ranks throw together.
void check_same_count(const char* op, int64_t count) {
  int64_t bounds[2] = {count, -count};
  check(op, MPI_Allreduce(MPI_IN_PLACE, bounds, 2, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD));
  if (bounds[0] != -bounds[1]) {
    fail<std::invalid_argument>(
        "mg::dist::{}: expected the same number of values on every rank, got {} on rank {} and "
        "from {} to {} across the ranks",
        op, count, rank(), bounds[0], -bounds[1]);
  }
}

int to_int(const char* op, int64_t count) {
  if (count > INT32_MAX) {
    fail<std::invalid_argument>("mg::dist::{}: expected at most {} values in one call, got {}", op,
                                INT32_MAX, count);
  }
  return static_cast<int>(count);
}

template <typename T>
void all_reduce_impl(std::span<T> values) {
  if (!use_mpi("all_reduce_sum")) return;
  check_same_count("all_reduce_sum", static_cast<int64_t>(values.size()));
  check("all_reduce_sum",
        MPI_Allreduce(MPI_IN_PLACE, values.data(), to_int("all_reduce_sum", values.size()),
                      mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD));
}

template <typename T>
void broadcast_impl(std::span<T> values, int root) {
  if (root < 0 || root >= world_size()) {
    fail<std::invalid_argument>("mg::dist::broadcast: expected a root rank in [0, {}), got {}",
                                world_size(), root);
  }
  if (!use_mpi("broadcast")) return;
  check_same_count("broadcast", static_cast<int64_t>(values.size()));
  check("broadcast", MPI_Bcast(values.data(), to_int("broadcast", values.size()), mpi_type<T>(),
                               root, MPI_COMM_WORLD));
}

template <typename T>
std::vector<T> all_gather_impl(std::span<const T> values, std::vector<int64_t>* counts) {
  if (!use_mpi("all_gather")) {
    if (counts) *counts = {static_cast<int64_t>(values.size())};
    return {values.begin(), values.end()};
  }
  // First the counts (one int per rank), then the values at the offsets they give.
  const int P = world_size();
  std::vector<int> count(P), offset(P);
  const int mine = to_int("all_gather", values.size());
  check("all_gather", MPI_Allgather(&mine, 1, MPI_INT, count.data(), 1, MPI_INT, MPI_COMM_WORLD));
  int64_t total = 0;
  for (int r = 0; r < P; ++r) {
    offset[r] = to_int("all_gather", total);
    total += count[r];
  }
  std::vector<T> out(total);
  check("all_gather", MPI_Allgatherv(values.data(), mine, mpi_type<T>(), out.data(), count.data(),
                                     offset.data(), mpi_type<T>(), MPI_COMM_WORLD));
  if (counts) counts->assign(count.begin(), count.end());
  return out;
}

#else  // a world of one

template <typename T>
void all_reduce_impl(std::span<T>) {
  use_mpi("all_reduce_sum");
}

template <typename T>
void broadcast_impl(std::span<T>, int root) {
  use_mpi("broadcast");
  if (root != 0) {
    fail<std::invalid_argument>("mg::dist::broadcast: expected a root rank in [0, 1), got {}",
                                root);
  }
}

template <typename T>
std::vector<T> all_gather_impl(std::span<const T> values, std::vector<int64_t>* counts) {
  use_mpi("all_gather");
  if (counts) *counts = {static_cast<int64_t>(values.size())};
  return {values.begin(), values.end()};
}

#endif

}  // namespace

bool mpi_available() {
#ifdef MINIGRAD_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool is_initialized() {
  return mpi_active && !finalized;
}

void init(int& argc, char**& argv) {
  if (init_called) return;
  const int launched = launcher_world_size();
#ifdef MINIGRAD_WITH_MPI
  int already = 0;
  MPI_Initialized(&already);
  if (launched > 0 && !already) {
    int provided = 0;
    check("init", MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    // Errors come back as codes (turned into exceptions by check()) instead of aborting the job.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    mpi_active = owns_mpi = true;
  } else if (already) {
    mpi_active = true;  // the program started MPI itself; finalize() leaves stopping it to it
  }
#else
  (void)argc;
  (void)argv;
  if (launched > 1) {
    fail<std::runtime_error>(
        "mg::dist::init: this process is one of {} started by mpirun, but minigrad was built "
        "without MPI (install libopenmpi-dev and reconfigure with -DMINIGRAD_MPI=ON)",
        launched);
  }
#endif
  init_called = true;
}

void finalize() {
#ifdef MINIGRAD_WITH_MPI
  int already_finalized = 0;
  MPI_Finalized(&already_finalized);
  if (owns_mpi && !finalized && !already_finalized) MPI_Finalize();
#endif
  finalized = init_called;
}

int rank() {
  require_init("rank");
#ifdef MINIGRAD_WITH_MPI
  if (is_initialized()) {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
  }
#endif
  return 0;
}

int world_size() {
  require_init("world_size");
#ifdef MINIGRAD_WITH_MPI
  if (is_initialized()) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
  }
#endif
  return 1;
}

void abort(int code) {
#ifdef MINIGRAD_WITH_MPI
  if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void barrier() {
#ifdef MINIGRAD_WITH_MPI
  if (use_mpi("barrier")) check("barrier", MPI_Barrier(MPI_COMM_WORLD));
#else
  use_mpi("barrier");
#endif
}

void all_reduce_sum(std::span<float> values) {
  all_reduce_impl(values);
}
void all_reduce_sum(std::span<double> values) {
  all_reduce_impl(values);
}
void broadcast(std::span<float> values, int root) {
  broadcast_impl(values, root);
}
void broadcast(std::span<double> values, int root) {
  broadcast_impl(values, root);
}
std::vector<float> all_gather(std::span<const float> values, std::vector<int64_t>* counts) {
  return all_gather_impl(values, counts);
}
std::vector<double> all_gather(std::span<const double> values, std::vector<int64_t>* counts) {
  return all_gather_impl(values, counts);
}

template <typename T>
void all_reduce_sum(BasicTensor<T>& tensor) {
  all_reduce_sum(std::span<T>(tensor.data(), tensor.numel()));
}

template <typename T>
void broadcast(BasicTensor<T>& tensor, int root) {
  broadcast(std::span<T>(tensor.data(), tensor.numel()), root);
}

template <typename T>
BasicTensor<T> all_gather(const BasicTensor<T>& tensor) {
  // Every rank's shape first (padded to rank 3 with -1), so that all can check them together.
  const Shape& s = tensor.shape();
  std::vector<double> mine = {static_cast<double>(s.rank()), -1, -1, -1};
  for (int d = 0; d < s.rank(); ++d) mine[1 + d] = static_cast<double>(s[d]);
  const std::vector<double> shapes = all_gather(std::span<const double>(mine));
  int64_t rows = 0;
  for (std::size_t r = 0; r < shapes.size() / 4; ++r) {
    const double* other = &shapes[4 * r];
    bool same = other[0] == mine[0];
    for (int d = 2; d < 4; ++d) same = same && other[d] == mine[d];
    if (!same) {
      std::string theirs = "(";
      for (int d = 0; d < static_cast<int>(other[0]); ++d)
        theirs += fmt::format("{}{}", d ? ", " : "", static_cast<int64_t>(other[1 + d]));
      fail<ShapeError>(
          "mg::dist::all_gather: expected tensors that differ at most in their first dimension, "
          "got {} on rank {} and {}) on rank {}",
          s, rank(), theirs, r);
    }
    rows += static_cast<int64_t>(other[1]);
  }
  const std::vector<T> values = all_gather(std::span<const T>(tensor.data(), tensor.numel()));
  const int64_t dims[3] = {rows, s.rank() > 1 ? s[1] : 0, s.rank() > 2 ? s[2] : 0};
  return BasicTensor<T>::from_vector(values, Shape::checked("all_gather", dims, s.rank()));
}

template void all_reduce_sum(BasicTensor<float>&);
template void all_reduce_sum(BasicTensor<double>&);
template void broadcast(BasicTensor<float>&, int);
template void broadcast(BasicTensor<double>&, int);
template BasicTensor<float> all_gather(const BasicTensor<float>&);
template BasicTensor<double> all_gather(const BasicTensor<double>&);

}  // namespace mg::dist

// The distributed tests' main: MPI starts before Catch runs the tests and stops after. Every rank
// runs every test case in the same order (they make the same collective calls); mpirun fails the
// run when any rank fails.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "core/distributed.hpp"

int main(int argc, char** argv) {
  mg::dist::InitGuard mpi(argc, argv);
  return Catch::Session().run(argc, argv);
}

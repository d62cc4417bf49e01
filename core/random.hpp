// Our own seeded random numbers: a seed gives the same stream on every compiler and platform
// (std::normal_distribution and friends are implementation-defined, so they are not used).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/named_state.hpp"

namespace mg {

// xoshiro256** seeded through splitmix64: fast, small state, good statistical quality.
class Generator {
 public:
  // Everything that decides the numbers still to come: the four xoshiro words and the second
  // normal of the last Box-Muller pair, if it is still unused. set_state(state()) later
  // replays the stream from where state() was taken (dropout masks, shuffles, resumes).
  struct State {
    std::array<uint64_t, 4> s = {};
    bool has_spare = false;
    double spare = 0.0;

    bool operator==(const State&) const = default;
    // Six words for a file of integers: s[0..3], has_spare (0 or 1), the bits of spare.
    std::array<uint64_t, 6> to_words() const;
    // The inverse; std::invalid_argument if the words are not a state (all four s zero, the
    // one state xoshiro never leaves, or has_spare not 0 or 1).
    static State from_words(std::span<const uint64_t, 6> words);
  };

  explicit Generator(uint64_t seed = 0);

  State state() const { return {s_, has_spare_, spare_}; }
  // std::invalid_argument for an all-zero s (from which only zeros would follow).
  void set_state(const State& state);
  // The same as named integers and a real, for a training-state file: "s.0" .. "s.3" (the
  // words' bits as int64), "has_spare" (0 or 1) and "spare".
  NamedState state_dict() const;
  // Checks every entry first; std::invalid_argument naming what is wrong.
  void load_state_dict(const NamedState& state);

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi);
  // Standard normal by the Box-Muller transform (the second value of each pair is kept).
  double normal();
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // Uniform integer in [0, n), without modulo bias; n must be > 0.
  uint64_t below(uint64_t n);
  // A random permutation of 0..n-1 (Fisher-Yates); n must be >= 0.
  std::vector<int64_t> permutation(int64_t n);

 private:
  std::array<uint64_t, 4> s_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator layers draw their initial weights from when none is given: the calling
// thread's own (thread_local), so threads may use it at once and a thread's numbers do not
// depend on what other threads draw. A thread's generator is seeded, on the thread's first call,
// with the seed of the last manual_seed (0 before any). A Generator& taken from it belongs to
// that thread: pass it to another thread and the two race, as with any shared Generator.
Generator& default_generator();
// Reseeds the calling thread's default_generator() and sets the seed that threads calling
// default_generator() for the first time start from: `mg::manual_seed(0)` at the top of main(),
// before any thread starts, makes initialisation reproducible in every thread.
void manual_seed(uint64_t seed);

}  // namespace mg

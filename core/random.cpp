#include "core/random.hpp"

#include <atomic>
#include <bit>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace mg {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

Generator::Generator(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
}

std::array<uint64_t, 6> Generator::State::to_words() const {
  return {s[0], s[1], s[2], s[3], has_spare ? 1u : 0u, std::bit_cast<uint64_t>(spare)};
}

Generator::State Generator::State::from_words(std::span<const uint64_t, 6> words) {
  if (words[4] > 1) {
    fail<std::invalid_argument>("Generator: expected has_spare 0 or 1 in word 4, got {}", words[4]);
  }
  State state{
      {words[0], words[1], words[2], words[3]}, words[4] == 1, std::bit_cast<double>(words[5])};
  if (state.s == std::array<uint64_t, 4>{}) {
    fail<std::invalid_argument>("Generator: expected a state with a nonzero word, got all zeros");
  }
  return state;
}

void Generator::set_state(const State& state) {
  if (state.s == std::array<uint64_t, 4>{}) {
    fail<std::invalid_argument>("Generator: expected a state with a nonzero word, got all zeros");
  }
  s_ = state.s;
  has_spare_ = state.has_spare;
  spare_ = state.spare;
}

NamedState Generator::state_dict() const {
  NamedState state;
  for (int i = 0; i < 4; ++i)
    state.integers["s." + std::to_string(i)] = std::bit_cast<int64_t>(s_[i]);
  state.integers["has_spare"] = has_spare_ ? 1 : 0;
  state.reals["spare"] = spare_;
  return state;
}

void Generator::load_state_dict(const NamedState& state) {
  state.require_keys("Generator", {"s.0", "s.1", "s.2", "s.3", "has_spare", "spare"});
  std::array<uint64_t, 6> words;
  for (int i = 0; i < 4; ++i)
    words[i] = std::bit_cast<uint64_t>(state.integer("Generator", "s." + std::to_string(i)));
  words[4] = std::bit_cast<uint64_t>(state.integer("Generator", "has_spare"));
  words[5] = std::bit_cast<uint64_t>(state.real("Generator", "spare"));
  set_state(State::from_words(words));
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Generator::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Box-Muller: two uniforms u1 in (0, 1], u2 in [0, 1) give two independent normals.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * std::numbers::pi * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

uint64_t Generator::below(uint64_t n) {
  if (n == 0) fail<std::invalid_argument>("Generator::below: expected n > 0, got 0");
  // Rejection sampling: drop the top partial range so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  if (n < 0) fail<std::invalid_argument>("Generator::permutation: expected n >= 0, got {}", n);
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[below(i + 1)]);
  return p;
}

namespace {
// The seed a thread's default generator starts from: the last manual_seed, 0 before any.
std::atomic<uint64_t> default_seed{0};
}  // namespace

Generator& default_generator() {
  // One per thread, made on the thread's first call: threads never share it, so they cannot
  // race on it, and each thread's stream depends only on what that thread draws.
  thread_local Generator generator(default_seed.load());
  return generator;
}

void manual_seed(uint64_t seed) {
  default_seed.store(seed);
  default_generator() = Generator(seed);
}

}  // namespace mg

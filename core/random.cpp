#include "core/random.hpp"

#include <atomic>
#include <cmath>
#include <numbers>
#include <stdexcept>

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

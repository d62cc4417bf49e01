// The generator's state: read, restored, replayed, and through a training-state file.
#include <array>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "core/named_state.hpp"
#include "core/random.hpp"
#include "core/safetensors.hpp"

using mg::Generator;

namespace {

// Draws of every kind, so a state that missed any part would replay differently.
std::vector<double> draws(Generator& g) {
  std::vector<double> out;
  for (int i = 0; i < 5; ++i) {
    out.push_back(g.normal());
    out.push_back(g.uniform());
    out.push_back(static_cast<double>(g.below(1000)));
  }
  return out;
}

}  // namespace

TEST_CASE("A generator's state replays the stream, the Box-Muller spare included", "[random]") {
  Generator g(42);
  g.normal();  // leaves the pair's second normal waiting
  const Generator::State state = g.state();
  CHECK(state.has_spare);
  const std::vector<double> first = draws(g);
  CHECK(g.state() != state);
  g.set_state(state);
  CHECK(draws(g) == first);

  Generator other(7);  // another generator takes the state and continues the same stream
  other.set_state(state);
  CHECK(draws(other) == first);

  const std::array<uint64_t, 6> words = state.to_words();
  CHECK(Generator::State::from_words(words) == state);
}

TEST_CASE("A generator's state goes through a safetensors file", "[random]") {
  Generator g(3);
  g.normal();
  const mg::safetensors::File file = mg::to_safetensors(g.state_dict());
  const mg::NamedState back =
      mg::from_safetensors(mg::safetensors::parse(mg::safetensors::serialize(file)));
  const std::vector<double> want = draws(g);
  Generator other(0);
  other.load_state_dict(back);
  CHECK(draws(other) == want);
}

TEST_CASE("A generator refuses a state that is not one, and keeps its own", "[random]") {
  Generator g(5);
  const Generator::State before = g.state();
  CHECK_THROWS_MATCHES(g.set_state({}), std::invalid_argument,
                       Catch::Message("Generator: expected a state with a nonzero word, got all "
                                      "zeros"));
  const std::array<uint64_t, 6> bad_flag = {1, 2, 3, 4, 2, 0};
  CHECK_THROWS_MATCHES(Generator::State::from_words(bad_flag), std::invalid_argument,
                       Catch::Message("Generator: expected has_spare 0 or 1 in word 4, got 2"));
  mg::NamedState state = g.state_dict();
  state.reals.erase("spare");
  CHECK_THROWS_MATCHES(g.load_state_dict(state), std::invalid_argument,
                       Catch::Message("Generator: load_state_dict: missing keys [spare], "
                                      "unexpected keys []"));
  CHECK(g.state() == before);
}

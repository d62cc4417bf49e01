// Shared by the activation layers' tests: one case of tests/fixtures/activations.json (written
// by scripts/fixtures_activations.py) run through a minigrad module, values and gradient compared.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include "fixture_json.hpp"
#include "layers/module.hpp"

namespace mg::testing {

inline const nlohmann::json& activation_case(const std::string& name) {
  static const nlohmann::json fixture = load_fixture("activations.json");
  return fixture.at("cases").at(name);
}

// y = module(x) and dx from y.backward(dy), within `relative` of PyTorch's (fixture_json.hpp).
inline void require_matches_pytorch(nn::Module& module, const std::string& name, double relative) {
  INFO("fixture case '" << name << "'");
  const nlohmann::json& c = activation_case(name);
  const Tensor x = fixture_tensor<float>(c.at("x"), /*requires_grad=*/true);
  const Tensor y = module(x);
  require_close(y, c.at("y"), relative);
  y.backward(fixture_tensor<float>(c.at("dy")));
  require_close(x.grad(), c.at("dx"), relative);
}

}  // namespace mg::testing

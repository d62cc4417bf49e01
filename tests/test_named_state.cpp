// NamedState: prefixes for several states in one file, and its safetensors form.
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "core/named_state.hpp"
#include "core/safetensors.hpp"

using mg::NamedState;
using mg::Shape;
using mg::Tensor;

TEST_CASE("NamedState keeps several states apart under prefixes", "[named_state]") {
  NamedState optimizer;
  optimizer.tensors["state.0.momentum_buffer"] = Tensor::full(Shape{2}, 1.5f);
  optimizer.reals["param_groups.0.lr"] = 0.1;
  NamedState schedule;
  schedule.integers["last_epoch"] = 3;
  NamedState file;
  file.insert("optimizer", optimizer);
  file.insert("scheduler", schedule);
  CHECK(file.contains("optimizer.param_groups.0.lr"));
  CHECK(file.contains("scheduler.last_epoch"));
  CHECK(file.extract("scheduler").integers == schedule.integers);
  CHECK(file.extract("optimizer").reals == optimizer.reals);
  CHECK(file.extract("optimizer")
            .tensors.at("state.0.momentum_buffer")
            .same_as(optimizer.tensors.at("state.0.momentum_buffer")));
  CHECK_THROWS_MATCHES(file.insert("scheduler", schedule), std::invalid_argument,
                       Catch::Message("NamedState: insert: 'scheduler.last_epoch' is already "
                                      "present"));
}

TEST_CASE("NamedState goes through safetensors with its kinds and bits", "[named_state]") {
  NamedState state;
  state.tensors["buffer"] = Tensor::from_vector({1.0f, -2.5f, 3e-38f, 7.0f}, Shape{2, 2});
  state.reals["lr"] = 0.1 + 1e-17;  // every bit of a double survives
  state.integers["step"] = -(int64_t{1} << 62);
  const mg::safetensors::File file = mg::to_safetensors(state);
  const NamedState back =
      mg::from_safetensors(mg::safetensors::parse(mg::safetensors::serialize(file)));
  CHECK(back.reals == state.reals);
  CHECK(back.integers == state.integers);
  REQUIRE(back.tensors.size() == 1);
  CHECK(back.tensors.at("buffer").shape() == Shape{2, 2});
  CHECK(back.tensors.at("buffer").to_vector() == state.tensors.at("buffer").to_vector());

  mg::safetensors::File odd = file;
  odd.tensors.push_back({"scale", mg::safetensors::Dtype::F32, {}, std::vector<std::byte>(4)});
  CHECK_THROWS_MATCHES(mg::from_safetensors(odd), mg::CheckpointError,
                       Catch::Message("NamedState: expected 'scale' as an F32 array of rank 1 to "
                                      "3, an F64 [] or an I64 [], got F32 []"));
}

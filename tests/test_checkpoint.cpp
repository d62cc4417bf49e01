// mg::nn::save / mg::nn::load (also spelt mg::save / mg::load): round trips, PyTorch key names
// and dtypes, and that every bad file is refused with the module left exactly as it was.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/ops.hpp"
#include "core/safetensors.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/checkpoint.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

mg::nn::Sequential make_net(uint64_t seed) {
  mg::Generator gen(seed);
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(3, 4, {}, gen));
  net.push_back(mg::nn::BatchNorm1d(4));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(4, 2, {}, gen));
  return net;
}

// A few training-mode forwards so the running statistics and the counter are not defaults.
void warm_up(mg::nn::Sequential& net) {
  mg::Generator gen(7);
  for (int i = 0; i < 3; ++i) net(mg::Tensor::randn({8, 3}, gen));
}

std::vector<float> all_values(mg::nn::Sequential& net) {
  std::vector<float> out;
  for (const auto& [name, value] : net.state_dict()) {
    if (const auto* t = std::get_if<mg::Tensor>(&value)) {
      for (float v : t->to_vector()) out.push_back(v);
    } else {
      out.push_back(static_cast<float>(std::get<int64_t>(value)));
    }
  }
  return out;
}

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / fs::path("minigrad_ckpt_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("save/load round trip restores parameters, running stats and the counter",
          "[checkpoint]") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  mg::nn::Sequential a = make_net(1);
  warm_up(a);
  mg::nn::save(a, path, {{"epoch", "3"}});

  mg::nn::Sequential b = make_net(2);
  REQUIRE(all_values(a) != all_values(b));
  const auto metadata = mg::nn::load(b, path);
  CHECK(all_values(a) == all_values(b));
  CHECK(b.at<mg::nn::BatchNorm1d>(1).num_batches_tracked == 3);
  CHECK(metadata.at("epoch") == "3");
  CHECK(metadata.at("format") == "minigrad");
  CHECK(metadata.at("format_version") == mg::nn::kCheckpointFormatVersion);
  CHECK_THAT(metadata.at("architecture"), Contains("BatchNorm1d(4"));

  a.eval();
  b.eval();
  mg::Generator gen(9);
  const mg::Tensor x = mg::Tensor::randn({5, 3}, gen);
  CHECK(a(x).to_vector() == b(x).to_vector());
}

TEST_CASE("checkpoints use PyTorch's keys, F32 tensors and a 0-dim I64 counter", "[checkpoint]") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  mg::nn::Sequential net = make_net(1);
  warm_up(net);
  mg::save(net, path);
  const mg::safetensors::File file = mg::safetensors::read_file(path);
  std::vector<std::string> names;
  for (const auto& e : file.tensors) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias",
                                          "1.running_mean", "1.running_var",
                                          "1.num_batches_tracked", "3.weight", "3.bias"});
  for (const auto& e : file.tensors) {
    if (e.name == "1.num_batches_tracked") {
      CHECK(e.dtype == mg::safetensors::Dtype::I64);
      CHECK(e.shape.empty());
    } else {
      CHECK(e.dtype == mg::safetensors::Dtype::F32);
    }
  }
}

TEST_CASE("load refuses a file that does not match the model and changes nothing", "[checkpoint]") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  mg::nn::Sequential target = make_net(5);
  const std::vector<float> before = all_values(target);

  SECTION("a missing file") {
    REQUIRE_THROWS_AS(mg::load(target, (dir.path / "none.safetensors").string()),
                      mg::CheckpointError);
  }
  SECTION("another architecture: missing and unexpected keys") {
    mg::nn::Sequential other;
    other.push_back(mg::nn::Linear(3, 4));
    other.push_back(mg::nn::ReLU());
    mg::save(other, path);
    REQUIRE_THROWS_WITH(mg::load(target, path),
                        "load: '" + path +
                            "' does not match the model: missing keys [1.weight, 1.bias, "
                            "1.running_mean, 1.running_var, 1.num_batches_tracked, 3.weight, "
                            "3.bias], unexpected keys []");
  }
  SECTION("a wrongly shaped tensor") {
    mg::nn::Sequential wide;
    mg::Generator gen(3);
    wide.push_back(mg::nn::Linear(3, 5, {}, gen));
    wide.push_back(mg::nn::BatchNorm1d(5));
    wide.push_back(mg::nn::ReLU());
    wide.push_back(mg::nn::Linear(5, 2, {}, gen));
    mg::save(wide, path);
    REQUIRE_THROWS_WITH(mg::load(target, path),
                        "load: '" + path + "': expected '0.weight' as F32 [4, 3], got F32 [5, 3]");
  }
  SECTION("a wrong dtype") {
    mg::nn::Sequential source = make_net(6);
    mg::save(source, path);
    mg::safetensors::File file = mg::safetensors::read_file(path);
    for (auto& e : file.tensors) {
      if (e.name == "1.num_batches_tracked") e.dtype = mg::safetensors::Dtype::F64;
    }
    mg::safetensors::write_file(path, file);
    REQUIRE_THROWS_WITH(mg::load(target, path), "load: '" + path +
                                                    "': expected '1.num_batches_tracked' as "
                                                    "I64 [], got F64 []");
  }
  SECTION("a layout version this build does not know") {
    mg::nn::Sequential source = make_net(6);
    mg::save(source, path);
    mg::safetensors::File file = mg::safetensors::read_file(path);
    file.metadata["format_version"] = "99";  // a later layout may mean other keys
    mg::safetensors::write_file(path, file);
    REQUIRE_THROWS_WITH(mg::load(target, path),
                        "load: '" + path +
                            "': expected a minigrad checkpoint of "
                            "format_version \"1\", got format_version \"99\"");
  }
  SECTION("a damaged file") {
    mg::nn::Sequential source = make_net(6);
    mg::save(source, path);
    fs::resize_file(path, fs::file_size(path) - 4);
    REQUIRE_THROWS_AS(mg::load(target, path), mg::CheckpointError);
  }
  CHECK(all_values(target) == before);
}

// What may run in several threads at once (docs/architecture.md, "Threads"): saves to one path,
// which take turns and each replace the file whole; the default generator, one per thread; and
// whole training runs on separate models. `make tsan` runs these tests under ThreadSanitizer.
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.hpp"
#include "core/data.hpp"
#include "core/random.hpp"
#include "core/safetensors.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/checkpoint.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string name = (fs::temp_directory_path() / "minigrad_threads_XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& item : fs::directory_iterator(path)) names.push_back(item.path().filename());
    return names;
  }
};

// Linear(2, 16) -> BatchNorm1d(16) -> ReLU -> Linear(16, 3); `gen` null: the default generator.
mg::nn::Sequential make_net(mg::Generator* gen) {
  mg::nn::Sequential net;
  mg::Generator& g = gen ? *gen : mg::default_generator();
  net.push_back(mg::nn::Linear(2, 16, {}, g));
  net.push_back(mg::nn::BatchNorm1d(16));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(16, 3, {}, g));
  return net;
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

// The values in the checkpoint at `path`, loaded into a fresh net.
std::vector<float> saved_values(const std::string& path) {
  mg::Generator gen(0);
  mg::nn::Sequential net = make_net(&gen);
  mg::load(net, path);
  return all_values(net);
}

// Trains a fresh net (weights from the calling thread's default generator) on blobs for three
// epochs, saving it to `shared` after every epoch; returns its final values.
std::vector<float> train(uint64_t data_seed, const std::string& shared) {
  mg::nn::Sequential net = make_net(nullptr);
  const mg::data::Dataset data = mg::data::make_blobs(120, 3, 0.5, data_seed);
  mg::data::DataLoader loader(data, {.batch_size = 32, .drop_last = true, .seed = data_seed});
  mg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (const mg::data::Batch& batch : loader) {
      sgd.zero_grad();
      mg::nn::cross_entropy(net(batch.x), batch.y).backward();
      sgd.step();
    }
    mg::save(net, shared, {{"epoch", std::to_string(epoch)}});
  }
  return all_values(net);
}

// Runs f in a new thread and returns its result: a thread whose default generator is fresh.
template <typename F>
auto in_new_thread(F f) {
  decltype(f()) result;
  std::thread([&] { result = f(); }).join();
  return result;
}

}  // namespace

TEST_CASE("threads: saves to one path take turns, the file is always exactly one model",
          "[concurrency]") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  mg::Generator gen_a(1), gen_b(2);
  mg::nn::Sequential a = make_net(&gen_a), b = make_net(&gen_b);
  const std::vector<float> values_a = all_values(a), values_b = all_values(b);
  REQUIRE(values_a != values_b);
  mg::save(a, path);

  // Catch2's macros are not thread-safe: the threads count and keep the first error, and the
  // main thread checks.
  std::atomic<bool> saving{true};
  std::atomic<int> failures{0}, mixed{0}, loads{0};
  std::mutex first_error_mutex;
  std::string first_error;
  auto failed = [&](const std::exception& e) {
    std::lock_guard lock(first_error_mutex);
    if (first_error.empty()) first_error = e.what();
  };
  auto saver = [&](mg::nn::Sequential& net) {
    for (int i = 0; i < 25; ++i) {
      try {
        mg::save(net, path);
      } catch (const std::exception& e) {  // before: "rename ... No such file or directory"
        ++failures;
        failed(e);
      }
    }
  };
  std::thread reader([&] {  // every read sees a whole file: one model or the other
    while (saving) {
      try {
        const std::vector<float> v = saved_values(path);
        if (v != values_a && v != values_b) ++mixed;
      } catch (const std::exception& e) {
        ++mixed;
        failed(e);
      }
      ++loads;
    }
  });
  std::thread first(saver, std::ref(a)), second(saver, std::ref(b));
  first.join();
  second.join();
  saving = false;
  reader.join();
  INFO(first_error);
  CHECK(failures == 0);
  CHECK(mixed == 0);
  CHECK(loads > 0);
  const std::vector<float> last = saved_values(path);
  CHECK((last == values_a || last == values_b));
  CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});  // no temporary left
}

TEST_CASE("threads: a temporary file left by a killed save is taken over by the next save",
          "[concurrency]") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  const std::string temp = path + ".tmp";
  mg::Generator gen(3);
  mg::nn::Sequential net = make_net(&gen);

  SECTION("a leftover from an earlier run") {
    std::ofstream(temp) << std::string(100'000, 'x');  // longer than the checkpoint
  }
  SECTION("a process killed while it held the file locked, half written") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // only async-signal-safe calls here: the parent has threads
      const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT, 0644);
      if (fd < 0 || ::flock(fd, LOCK_EX) != 0 || ::write(fd, "partial", 7) != 7) ::_exit(1);
      ::kill(::getpid(), SIGKILL);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(fs::exists(temp));
  }
  mg::save(net, path);
  CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});
  CHECK(saved_values(path) == all_values(net));
}

TEST_CASE("threads: each thread has its own default generator, seeded by manual_seed",
          "[concurrency]") {
  mg::manual_seed(5);
  mg::Generator reference(5);
  std::vector<double> want(4);
  for (double& v : want) v = reference.normal();

  // Two threads drawing at once each see the whole seeded stream, not a share of one stream.
  std::vector<double> first(4), second(4);
  auto draw = [](std::vector<double>& out) {
    for (double& v : out) v = mg::default_generator().normal();
  };
  std::thread t1(draw, std::ref(first)), t2(draw, std::ref(second));
  t1.join();
  t2.join();
  CHECK(first == want);
  CHECK(second == want);
  // The main thread's generator was reseeded too, and is not advanced by the others.
  std::vector<double> main_thread(4);
  draw(main_thread);
  CHECK(main_thread == want);
  mg::manual_seed(0);  // the default for the tests that follow
}

TEST_CASE("threads: two models trained at once, saving to one path, train as if alone",
          "[concurrency]") {
  TempDir dir;
  const std::string shared = (dir.path / "shared.safetensors").string();
  // One after the other, each in a fresh thread (so each starts a fresh default generator).
  const std::vector<float> alone_1 = in_new_thread([&] { return train(1, shared); });
  const std::vector<float> alone_2 = in_new_thread([&] { return train(2, shared); });
  REQUIRE(alone_1 != alone_2);

  std::vector<float> together_1, together_2;
  std::thread t1([&] { together_1 = train(1, shared); });
  std::thread t2([&] { together_2 = train(2, shared); });
  t1.join();
  t2.join();
  CHECK(together_1 == alone_1);
  CHECK(together_2 == alone_2);
  const std::vector<float> last = saved_values(shared);
  CHECK((last == alone_1 || last == alone_2));
  CHECK(dir.listing() == std::vector<std::string>{"shared.safetensors"});
}

TEST_CASE("threads: eval-mode forwards of one shared model under NoGradGuard", "[concurrency]") {
  mg::Generator gen(4);
  mg::nn::Sequential net = make_net(&gen);
  net(mg::Tensor::randn({16, 2}, gen));  // running statistics that are not the defaults
  net.eval();
  const mg::Tensor x = mg::Tensor::randn({64, 2}, gen);
  auto evaluate = [&] {
    mg::NoGradGuard no_grad;
    return net(x).to_vector();
  };
  const std::vector<float> want = evaluate();
  std::vector<float> first, second;
  std::thread t1([&] { first = evaluate(); }), t2([&] { second = evaluate(); });
  t1.join();
  t2.join();
  CHECK(first == want);
  CHECK(second == want);
}

// Trains a small BatchNorm MLP with the installed library, saves it, loads the checkpoint into a
// fresh model and checks that the two agree to the bit; exits non-zero otherwise. Compiled without
// the library's -march=native, it checks that what crosses between the two (tensors, Eigen
// objects, modules, the checkpoint) does not depend on the flags each side was compiled with.
//
//   consumer CHECKPOINT_PATH
#include <cstdio>
#include <cstring>

#include <minigrad/minigrad.hpp>

namespace {

mg::nn::Sequential make_model() {
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(2, 16));
  net.push_back(mg::nn::BatchNorm1d(16));
  net.push_back(mg::nn::ReLU());
  net.push_back(mg::nn::Linear(16, 2));
  return net;
}

int fail(const char* what) {
  std::fprintf(stderr, "consumer: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: consumer CHECKPOINT_PATH");
  const char* path = argv[1];

  mg::manual_seed(0);
  const mg::data::Dataset moons = mg::data::make_moons(256, 0.1, /*seed=*/1);
  mg::nn::Sequential net = make_model();
  mg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  mg::data::DataLoader loader(moons, {.batch_size = 32, .shuffle = true, .seed = 2});
  double first_loss = 0, last_loss = 0;
  for (int epoch = 0; epoch < 20; ++epoch) {
    double sum = 0;
    int batches = 0;
    for (const mg::data::Batch& b : loader) {
      sgd.zero_grad();
      mg::Tensor loss = mg::nn::cross_entropy(net(b.x), b.y);
      loss.backward();
      sgd.step();
      sum += loss.item();
      ++batches;
    }
    (epoch == 0 ? first_loss : last_loss) = sum / batches;
  }
  std::printf("consumer: loss %.4f after 1 epoch, %.4f after 20\n", first_loss, last_loss);
  if (!(last_loss < 0.5 * first_loss)) return fail("training did not halve the loss");

  // Eigen objects made here, from tensors made by the library, and the other way round.
  net.eval();
  mg::NoGradGuard no_grad;
  const mg::Tensor out = net(moons.x);  // (256, 2)
  const Eigen::MatrixXf copy = out.matrix();
  if (copy.rows() != 256 || copy.cols() != 2 || copy(7, 1) != out.at(7, 1))
    return fail("an Eigen copy of a tensor differs from the tensor");

  mg::save(net, path, {{"written_by", "consumer"}});
  mg::nn::Sequential fresh = make_model();
  const auto metadata = mg::nn::load(fresh, path);
  if (metadata.at("written_by") != "consumer") return fail("the metadata did not round-trip");
  fresh.eval();
  const mg::Tensor again = fresh(moons.x);
  if (std::memcmp(out.data(), again.data(), sizeof(float) * out.numel()) != 0)
    return fail("the loaded model's outputs differ from the saved model's");
  if (fresh.state_dict().size() != net.state_dict().size())
    return fail("the loaded model's state_dict has a different number of entries");
  std::printf("consumer: checkpoint %s loaded, outputs identical\n", path);
  return 0;
}

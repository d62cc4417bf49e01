// Dumps one BatchNorm1d training step as JSON, for checking it in PyTorch yourself
// (docs/compare_with_pytorch.md, scripts/compare_batchnorm_with_pytorch.py):
//   the input x, weight, bias and upstream gradient dy (random, seeded); the output y; the
//   gradients dx, dweight, dbias; running_mean and running_var after the step.
//
//   dump_batchnorm OUT.json N C [L]       float32, as train_mlp runs it
//
// Values are written with 9 significant digits, which read back as the same float32.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <minigrad/minigrad.hpp>

namespace {

std::string entry(const char* name, const mg::Tensor& t) {
  std::vector<int64_t> shape;
  for (int d = 0; d < t.rank(); ++d) shape.push_back(t.size(d));
  return fmt::format("  \"{}\": {{\"shape\": [{}], \"values\": [{:.9g}]}}", name,
                     fmt::join(shape, ", "), fmt::join(t.to_vector(), ", "));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    fmt::print(stderr, "usage: {} OUT.json N C [L]\n", argv[0]);
    return 2;
  }
  const int64_t N = std::atoll(argv[2]), C = std::atoll(argv[3]);
  const int64_t L = argc == 5 ? std::atoll(argv[4]) : 0;
  const mg::Shape shape = L > 0 ? mg::Shape{N, C, L} : mg::Shape{N, C};

  mg::Generator gen(2024);
  mg::nn::BatchNorm1d bn(C);  // eps 1e-5, momentum 0.1, affine, running statistics
  bn.weight.flat() = mg::Tensor::uniform({C}, 0.5f, 1.5f, gen).flat();  // not PyTorch's 1, 0:
  bn.bias.flat() = mg::Tensor::uniform({C}, -0.5f, 0.5f, gen).flat();   // gamma, beta matter
  mg::Tensor x_leaf = mg::Tensor::randn(shape, gen);
  x_leaf.flat() = x_leaf.flat() * 3.0f + 1.0f;  // mean 1, standard deviation 3
  x_leaf.set_requires_grad(true);
  const mg::Tensor dy = mg::Tensor::randn(shape, gen);

  const mg::Tensor y = bn(x_leaf);  // training mode: batch statistics, running stats updated
  y.backward(dy);

  std::ofstream out(argv[1]);
  out << "{\n  \"eps\": 1e-05, \"momentum\": 0.1,\n"
      << entry("x", x_leaf) << ",\n"
      << entry("weight", bn.weight) << ",\n"
      << entry("bias", bn.bias) << ",\n"
      << entry("dy", dy) << ",\n"
      << entry("y", y) << ",\n"
      << entry("dx", x_leaf.grad()) << ",\n"
      << entry("dweight", bn.weight.grad()) << ",\n"
      << entry("dbias", bn.bias.grad()) << ",\n"
      << entry("running_mean", bn.running_mean) << ",\n"
      << entry("running_var", bn.running_var) << "\n}\n";
  fmt::print("wrote {}: BatchNorm1d({}) on {}, one training step\n", argv[1], C, shape);
  return 0;
}

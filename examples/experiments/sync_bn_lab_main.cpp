// SyncBatchNorm lab: P processes, each with a small batch, train the BatchNorm MLP on two spirals
// three ways, for the same epochs and the same samples per step (P * B):
//   plain BatchNorm1d, data parallel:  each process normalises with its own B rows
//   SyncBatchNorm1d, data parallel:    the statistics of all P * B rows (convert_sync_batchnorm)
//   one process with the whole batch:  BatchNorm1d on P * B rows, no MPI involved
// Prints test accuracy (eval mode), the train/eval gap (accuracy on the training set with the
// batch statistics the run trained with, in train mode, minus the same in eval mode with the
// running statistics) and the seconds per run; writes
// sync_bn_lab.svg (test accuracy per epoch, one line per way). Rank 0 alone prints and writes.
//
//   mpirun -np 8 --oversubscribe build/release/examples/sync_bn_lab [output dir] [per-process
//          batch, default 4] [epochs, default 30]
#include <chrono>
#include <cstdlib>

#include <omp.h>

#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

#include "common/mlp.hpp"
#include "common/plot.hpp"
#include "common/training.hpp"

namespace {

using namespace examples;

enum class Way { plain, sync, whole };

struct Run {
  std::vector<double> test_accuracy;  // per epoch, eval mode
  double train_mode_accuracy = 0;     // training set, batch statistics (the run's batches)
  double eval_mode_accuracy = 0;      // training set, running statistics
  double seconds = 0;
};

// Accuracy over one epoch of `loader`'s batches in train mode, all ranks' batches together. The
// forwards would update the running statistics: they are put back afterwards.
double train_mode_accuracy(mg::nn::Sequential& net, mg::data::DataLoader& loader, bool parallel) {
  std::vector<std::vector<float>> saved;
  for (mg::nn::BufferRef<float>& b : net.named_buffers())
    if (!b.count) saved.push_back(b.tensor.to_vector());
  mg::NoGradGuard no_grad;
  net.train();
  std::vector<double> counts = {0.0, 0.0};  // right, seen
  for (const mg::data::Batch& b : loader) {
    counts[0] += accuracy(net(b.x), b.y) * static_cast<double>(b.y.size());
    counts[1] += static_cast<double>(b.y.size());
  }
  if (parallel) mg::dist::all_reduce_sum(std::span<double>(counts));
  std::size_t i = 0;
  for (mg::nn::BufferRef<float>& b : net.named_buffers())
    if (!b.count) std::copy(saved[i].begin(), saved[i].end(), b.tensor.data()), ++i;
  return counts[0] / counts[1];
}

// One training run. Data parallel (plain, sync): every rank takes its shard of each epoch, steps
// on its B rows and averages gradients; the whole-batch run steps on P * B rows in one process.
Run train_run(Way way, const mg::data::Dataset& train_set, const mg::data::Dataset& test_set,
              int64_t B, int64_t epochs) {
  const auto t0 = std::chrono::steady_clock::now();
  const int P = mg::dist::world_size();
  const bool parallel = way != Way::whole;
  mg::Generator weights(3);
  mg::nn::Sequential net = make_mlp(
      {.inputs = 2, .hidden = {32, 32}, .classes = train_set.classes, .norm = Norm::batch},
      weights);
  if (way == Way::sync) mg::nn::convert_sync_batchnorm(net);
  mg::optim::SGD sgd(net.parameters(), {.lr = 0.05, .momentum = 0.9});
  mg::data::DataLoader loader(
      train_set, {.batch_size = parallel ? B : P * B, .drop_last = true, .seed = 3,
                  .num_replicas = parallel ? P : 1, .rank = parallel ? mg::dist::rank() : 0});
  Run run;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    net.train();
    for (const mg::data::Batch& b : loader) {
      sgd.zero_grad();
      mg::Tensor loss = mg::nn::cross_entropy(net(b.x), b.y);
      loss.backward();
      if (parallel) mg::dist::average_gradients(net);
      sgd.step();
    }
    if (parallel) {
      // What DistributedDataParallel does with buffers: every rank takes rank 0's running
      // statistics (plain BatchNorm's differ between ranks; SyncBatchNorm's are equal anyway).
      mg::dist::broadcast_parameters(net, 0);
    }
    net.eval();
    run.test_accuracy.push_back(evaluate(net, test_set).accuracy);
  }
  run.train_mode_accuracy = train_mode_accuracy(net, loader, parallel);
  run.eval_mode_accuracy = evaluate(net, train_set).accuracy;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  mg::dist::InitGuard mpi(argc, argv);
  omp_set_num_threads(1);  // one thread per process: the processes share the cores
  const bool root = mg::dist::rank() == 0;
  const std::string dir = root ? output_dir(argc, argv) : "";
  const int64_t B = argc > 2 ? std::atoi(argv[2]) : 4;
  const int64_t epochs = argc > 3 ? std::atoi(argv[3]) : 30;
  const int P = mg::dist::world_size();
  const auto [train_set, test_set] =
      mg::data::train_test_split(mg::data::make_spirals(1000, 2, 0.05, 1), 0.2, 2);
  if (root) {
    fmt::print(
        "MLP 2-32-BN-32-BN-2 on two spirals (800 train, 200 test), SGD lr 0.05 momentum 0.9, {} "
        "epochs;\n{} processes x batch {} = {} samples per step\n\n{:<34} {:>9} {:>22} {:>10} "
        "{:>8} {:>8}\n",
        epochs, P, B, P * B, "", "test acc", "train acc: train mode", "eval mode", "gap", "seconds");
  }
  const struct {
    Way way;
    std::string label, color;
  } ways[] = {
      {Way::plain, fmt::format("{} x {}, plain BatchNorm1d", P, B), "#d62728"},
      {Way::sync, fmt::format("{} x {}, SyncBatchNorm1d", P, B), "#1f77b4"},
      {Way::whole, fmt::format("1 x {}, BatchNorm1d", P * B), "#2ca02c"},
  };
  std::vector<Series> lines;
  for (const auto& w : ways) {
    const Run r = train_run(w.way, train_set, test_set, B, epochs);
    if (!root) continue;
    fmt::print("{:<34} {:>9.3f} {:>22.3f} {:>10.3f} {:>+8.3f} {:>8.2f}\n", w.label,
               r.test_accuracy.back(), r.train_mode_accuracy, r.eval_mode_accuracy,
               r.train_mode_accuracy - r.eval_mode_accuracy, r.seconds);
    Series s{w.label, {}, r.test_accuracy, w.color, /*dashed=*/w.way == Way::whole};
    for (int64_t e = 1; e <= epochs; ++e) s.x.push_back(static_cast<double>(e));
    lines.push_back(s);
  }
  if (!root) return 0;
  const std::string svg = dir + "/sync_bn_lab.svg";
  write_line_plot(svg,
                  {.title = fmt::format("{} processes x batch {}: test accuracy per epoch", P, B),
                   .x_label = "epoch",
                   .y_label = "test accuracy (eval mode)",
                   .integer_x = true},
                  lines);
  fmt::print("\nwrote {}\n", svg);
}

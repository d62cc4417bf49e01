// "Inside BatchNorm": one BatchNorm1d of the training run, looked at four ways.
//   bn_state    the last step's batch mean/variance per channel beside running_mean/running_var
//   bn_modes    the layer's output in train() or eval() on that same batch, on a copy of the
//               layer, with its running statistics before and after that forward
//   bn_gap      eval/train output ratio on batches of n against sqrt((n - 1) / n)
//   bn_running  running_mean and running_var over k batches, with momentum m and with None
// Legend: N = batch, C = channels, n = values per channel in a batch.
#include <cmath>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "experiments/train_eval_gap.hpp"
#include "panels.hpp"

namespace playground {
namespace {

Json values(const mg::Tensor& t) {
  return t.defined() ? Json(t.to_vector()) : Json();
}

// Per channel of h (N, C): the mean and the biased variance (divisor N), in double.
struct ChannelStats {
  std::vector<double> mean, var;
};
ChannelStats stats_of(const mg::Tensor& h) {
  const int64_t N = h.size(0), C = h.size(1);
  ChannelStats s{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < N; ++i) s.mean[c] += h.at(i, c);
    s.mean[c] /= double(N);
    for (int64_t i = 0; i < N; ++i) s.var[c] += std::pow(h.at(i, c) - s.mean[c], 2);
    s.var[c] /= double(N);
  }
  return s;
}

std::size_t layer_of(const Json& r) {
  return r.value("layer", std::size_t{0});
}

const mg::Tensor& last_input(Run& run, std::size_t layer) {
  run.batchnorm(layer);  // throws when there is no such layer
  if (run.last_inputs().empty())
    throw std::invalid_argument("playground: no training step yet (take one step first)");
  return run.last_inputs()[layer].x;
}

// A new BatchNorm1d with the layer's options, weight, bias and running statistics.
mg::nn::BatchNorm1d copy_of(mg::nn::BatchNorm1d& bn, mg::nn::BatchNormOptions options) {
  mg::nn::BatchNorm1d copy(bn.num_features(), options);
  copy.weight.flat() = bn.weight.flat();
  copy.bias.flat() = bn.bias.flat();
  copy.running_mean.flat() = bn.running_mean.flat();
  copy.running_var.flat() = bn.running_var.flat();
  copy.num_batches_tracked = bn.num_batches_tracked;
  return copy;
}

Json momentum_json(const std::optional<double>& m) {
  return m ? Json(*m) : Json();
}

// `count` batches of `n` training points through the layers before `module` (eval mode).
std::vector<mg::Tensor> layer_inputs(Run& run, std::size_t module, int64_t n, int64_t count,
                                     uint64_t seed) {
  mg::data::DataLoader loader(run.train_set(), {.batch_size = n, .drop_last = true, .seed = seed});
  std::vector<mg::Tensor> inputs;
  while (static_cast<int64_t>(inputs.size()) < count)
    for (const mg::data::Batch& b : loader) {
      if (static_cast<int64_t>(inputs.size()) == count) break;
      inputs.push_back(run.input_of(module, b.x));
    }
  return inputs;
}

}  // namespace

Json bn_state(Run& run, const Json& r) {
  const std::size_t layer = layer_of(r);
  mg::nn::BatchNorm1d& bn = run.batchnorm(layer);
  Json answer = {{"channels", bn.num_features()},
                 {"module", run.batchnorm_modules()[layer]},
                 {"eps", bn.options().eps},
                 {"momentum", momentum_json(bn.options().momentum)},
                 {"num_batches_tracked", bn.num_batches_tracked},
                 {"running_mean", values(bn.running_mean)},
                 {"running_var", values(bn.running_var)},
                 {"weight", values(bn.weight)},
                 {"bias", values(bn.bias)}};
  if (!run.last_inputs().empty()) {
    const mg::Tensor& h = run.last_inputs()[layer].x;  // (N, C)
    const ChannelStats s = stats_of(h);
    const double N = double(h.size(0));
    std::vector<double> unbiased(s.var.size());
    for (std::size_t c = 0; c < s.var.size(); ++c) unbiased[c] = s.var[c] * N / (N - 1);
    answer["batch"] = {{"N", h.size(0)},
                       {"mean", s.mean},
                       {"var", s.var},               // biased: what normalised the batch
                       {"var_unbiased", unbiased}};  // what went into running_var
  }
  return answer;
}

Json bn_modes(Run& run, const Json& r) {
  const std::size_t layer = layer_of(r);
  const mg::Tensor& h = last_input(run, layer);  // (N, C)
  const std::string mode = r.value("mode", "train");
  if (mode != "train" && mode != "eval")
    throw std::invalid_argument(
        fmt::format("playground: expected mode train or eval, got '{}'", mode));
  mg::nn::BatchNorm1d& bn = run.batchnorm(layer);
  mg::nn::BatchNorm1d copy = copy_of(bn, bn.options());
  copy.train(mode == "train");
  const Json before = {{"running_mean", values(copy.running_mean)},
                       {"running_var", values(copy.running_var)},
                       {"num_batches_tracked", copy.num_batches_tracked}};
  mg::NoGradGuard no_grad;
  const mg::Tensor y = copy(h);  // (N, C)
  const ChannelStats s = stats_of(y);
  return {{"mode", mode},
          {"N", h.size(0)},
          {"channels", h.size(1)},
          {"x", values(h)},
          {"y", values(y)},
          {"y_mean", s.mean},
          {"y_var", s.var},
          {"before", before},
          {"after",
           {{"running_mean", values(copy.running_mean)},
            {"running_var", values(copy.running_var)},
            {"num_batches_tracked", copy.num_batches_tracked}}}};
}

// For each batch size n: (a) the Bessel part alone, measured exactly as
// experiments::gap::momentum_one_ratio does (a fresh layer with momentum 1 and eps 0 trained on
// one batch, then evaluated on it: eval/train = sqrt((n - 1) / n) per channel); (b) the whole
// gap of the trained layer itself on batches of n (RMS of train - eval output over |gamma|,
// experiments::gap::feature_gaps), which adds the batch's noise around the running statistics.
Json bn_gap(Run& run, const Json& r) {
  const std::size_t layer = layer_of(r);
  mg::nn::BatchNorm1d& bn = run.batchnorm(layer);
  const std::size_t module = run.batchnorm_modules()[layer];
  const std::vector<int64_t> sizes =
      r.value("sizes", std::vector<int64_t>{2, 3, 4, 6, 8, 12, 16, 32, 64, 128});
  Json rows = Json::array();
  for (int64_t n : sizes) {
    if (n < 2 || n > run.train_set().size())
      throw std::invalid_argument(
          fmt::format("playground: bn_gap expected batch sizes from 2 to {}, got {}",
                      run.train_set().size(), n));
    const std::vector<mg::Tensor> batches = layer_inputs(run, module, n, 8, 1);
    const std::vector<double> ratio = experiments::gap::momentum_one_ratio(batches[0]);
    double lo = ratio[0], hi = ratio[0], mean = 0;
    for (double v : ratio) lo = std::min(lo, v), hi = std::max(hi, v), mean += v;
    mean /= double(ratio.size());
    double gap = 0;
    for (const experiments::gap::FeatureGap& g : experiments::gap::feature_gaps(bn, batches))
      gap += g.output_gap / double(bn.num_features());
    rows.push_back({{"n", n},
                    {"predicted", experiments::gap::bessel_factor(n)},
                    {"ratio_mean", mean},
                    {"ratio_min", lo},
                    {"ratio_max", hi},
                    {"trained_gap", gap}});
  }
  run.net().train();
  return {{"rows", rows}};
}

// Feeds `steps` batches of the layer's input (through the trained layers before it) to two fresh
// copies of the layer, one with momentum m, one with None (a cumulative average), and follows
// channel c's running statistics; the target is the channel's statistics over the training set.
Json bn_running(Run& run, const Json& r) {
  const std::size_t layer = layer_of(r);
  mg::nn::BatchNorm1d& bn = run.batchnorm(layer);
  const std::size_t module = run.batchnorm_modules()[layer];
  const int64_t c = r.value("channel", int64_t{0}), steps = r.value("steps", int64_t{50});
  const int64_t n = r.value("batch_size", run.settings().batch_size);
  const double m = r.value("momentum", 0.1);
  if (c < 0 || c >= bn.num_features() || steps < 1 || steps > 1000 || n < 2 ||
      n > run.train_set().size())
    throw std::invalid_argument(fmt::format(
        "playground: bn_running expected a channel below {}, 1 to 1000 steps and a batch size "
        "from 2 to {}, got channel {}, {} steps, batch size {}",
        bn.num_features(), run.train_set().size(), c, steps, n));
  mg::nn::BatchNormOptions with_m = bn.options(), with_none = bn.options();
  with_m.momentum = m;
  with_none.momentum = std::nullopt;
  mg::nn::BatchNorm1d ema(bn.num_features(), with_m), average(bn.num_features(), with_none);
  Json batch_mean = Json::array(), batch_var = Json::array(), ema_mean = Json::array(),
       ema_var = Json::array(), avg_mean = Json::array(), avg_var = Json::array();
  mg::NoGradGuard no_grad;
  for (const mg::Tensor& h : layer_inputs(run, module, n, steps, 2)) {
    ema(h);
    average(h);
    const ChannelStats s = stats_of(h);
    batch_mean.push_back(s.mean[c]);
    batch_var.push_back(s.var[c] * double(n) / double(n - 1));
    ema_mean.push_back(ema.running_mean.at(c));
    ema_var.push_back(ema.running_var.at(c));
    avg_mean.push_back(average.running_mean.at(c));
    avg_var.push_back(average.running_var.at(c));
  }
  const mg::Tensor all = run.input_of(module, run.train_set().x);  // (train points, C)
  mg::Tensor column = mg::Tensor::empty({all.size(0), 1});
  for (int64_t i = 0; i < all.size(0); ++i) column.data()[i] = all.at(i, c);
  const ChannelStats target = stats_of(column);
  const double points = double(all.size(0));
  run.net().train();
  return {{"channel", c},
          {"momentum", m},
          {"batch_mean", batch_mean},
          {"batch_var", batch_var},
          {"momentum_mean", ema_mean},
          {"momentum_var", ema_var},
          {"none_mean", avg_mean},
          {"none_var", avg_var},
          {"target_mean", target.mean[0]},
          {"target_var", target.var[0] * points / (points - 1)}};
}

}  // namespace playground

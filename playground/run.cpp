#include "run.hpp"

#include <span>
#include <stdexcept>

#include <fmt/format.h>

namespace playground {
namespace {

// train_mlp's data: the named data set from the seed, split stratified from the same seed.
std::pair<mg::data::Dataset, mg::data::Dataset> make_split(const RunSettings& s) {
  const double noise = s.noise ? *s.noise : default_noise(s.dataset);
  mg::data::Dataset all;
  if (s.dataset == "spirals")
    all = mg::data::make_spirals(s.samples, s.classes, noise, s.seed);
  else if (s.dataset == "moons")
    all = mg::data::make_moons(s.samples, noise, s.seed);
  else if (s.dataset == "blobs")
    all = mg::data::make_blobs(s.samples, s.classes, noise, s.seed);
  else if (s.dataset == "circles")
    all = mg::data::make_circles(s.samples, s.classes, noise, s.seed);
  else
    throw std::invalid_argument(fmt::format(
        "playground: expected a data set spirals, moons, blobs or circles, got '{}'", s.dataset));
  return mg::data::train_test_split(all, s.test_fraction, s.seed);
}

// train_mlp draws the initial weights from their own stream of the seed, apart from the data's.
mg::Generator weights_generator(uint64_t seed) {
  return mg::Generator(seed ^ 0x77656967687473ULL);  // "weights"
}

examples::MlpSpec spec_of(const RunSettings& s) {
  return {.inputs = 2,
          .hidden = s.hidden,
          .classes = s.dataset == "moons" ? 2 : s.classes,
          .norm = s.norm,
          .batchnorm = s.batchnorm};
}

mg::nn::Sequential make_net(const RunSettings& s) {
  mg::Generator gen = weights_generator(s.seed);
  return examples::make_mlp(spec_of(s), gen);
}

const mg::data::Dataset& checked_train_set(const mg::data::Dataset& train, int64_t batch_size) {
  if (batch_size < 2 || batch_size > train.size())
    throw std::invalid_argument(
        fmt::format("playground: expected a batch size from 2 to the {} training points, got {}",
                    train.size(), batch_size));
  return train;
}

}  // namespace

double default_noise(const std::string& dataset) {
  if (dataset == "moons") return 0.1;
  if (dataset == "blobs") return 0.5;
  if (dataset == "circles") return 0.05;
  return 0.04;  // spirals
}

Run::Run(const RunSettings& settings)
    : settings_(settings),
      data_(make_split(settings)),
      net_(make_net(settings)),
      sgd_(examples::param_groups(net_, settings.weight_decay),
           {.lr = settings.lr,
            .momentum = settings.momentum,
            .weight_decay = settings.weight_decay}),
      loader_(checked_train_set(data_.first, settings.batch_size),
              {.batch_size = settings.batch_size, .drop_last = true, .seed = settings.seed}) {
  if (settings_.dataset == "moons") settings_.classes = 2;
  for (std::size_t i = 0; i < net_.size(); ++i)
    if (dynamic_cast<mg::nn::BatchNorm1d*>(&net_[i])) batchnorm_modules_.push_back(i);
}

double Run::step() {
  if (!next_ || *next_ == loader_.end()) next_ = loader_.begin();  // the next epoch
  const mg::data::Batch& batch = **next_;
  net_.train();
  sgd_.zero_grad();
  // net_(batch.x), one module at a time (as Sequential::forward runs them), keeping what each
  // BatchNorm1d is given for the "Inside BatchNorm" panel.
  std::vector<BatchNormInput> inputs;
  mg::Tensor h = batch.x;  // (N, F)
  for (std::size_t i = 0; i < net_.size(); ++i) {
    if (dynamic_cast<mg::nn::BatchNorm1d*>(&net_[i])) inputs.push_back({i, h.detach().clone()});
    h = net_[i](h);
  }
  const mg::Tensor logits = h;  // (N, K)
  const mg::Tensor loss = mg::nn::cross_entropy(logits, std::span<const int64_t>(batch.y));
  loss.backward();
  sgd_.step();
  ++*next_;
  ++steps_;
  last_inputs_ = std::move(inputs);
  return loss.item();
}

mg::nn::BatchNorm1d& Run::batchnorm(std::size_t which) {
  if (which >= batchnorm_modules_.size())
    throw std::out_of_range(fmt::format(
        "playground: expected a BatchNorm1d layer below {}, got {} (the network has {})",
        batchnorm_modules_.size(), which, batchnorm_modules_.size()));
  return net_.at<mg::nn::BatchNorm1d>(batchnorm_modules_[which]);
}

mg::Tensor Run::input_of(std::size_t module, const mg::Tensor& x) {
  net_.eval();
  mg::NoGradGuard no_grad;
  mg::Tensor h = x;  // (M, F)
  for (std::size_t i = 0; i < module; ++i) h = net_[i](h);
  return h;
}

}  // namespace playground

#include "layers/gradcheck_module.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/random.hpp"

namespace mg::nn {
namespace {

// The values of every buffer, copied (not shared), so the module can be put back.
class BufferSnapshot {
 public:
  explicit BufferSnapshot(BasicModule<double>& module) : buffers_(module.named_buffers()) {
    for (const BufferRef<double>& b : buffers_) {
      values_.push_back(b.count ? std::vector<double>{} : b.tensor.to_vector());
      counts_.push_back(b.count ? *b.count : 0);
    }
  }
  void restore() {
    for (size_t i = 0; i < buffers_.size(); ++i) {
      if (buffers_[i].count) {
        *buffers_[i].count = counts_[i];
      } else {
        std::copy(values_[i].begin(), values_[i].end(), buffers_[i].tensor.data());
      }
    }
  }

 private:
  std::vector<BufferRef<double>> buffers_;  // shares the module's tensors and counters
  std::vector<std::vector<double>> values_;
  std::vector<int64_t> counts_;
};

// The state of every generator the module draws from (Dropout's mask), so that every
// evaluation draws the same numbers. A generator shared by several layers is saved once.
class GeneratorSnapshot {
 public:
  explicit GeneratorSnapshot(BasicModule<double>& module) {
    for (const auto& [name, gen] : module.named_generators()) {
      if (std::find(generators_.begin(), generators_.end(), gen) != generators_.end()) continue;
      generators_.push_back(gen);
      states_.push_back(gen->state());
    }
  }
  void restore() {
    for (size_t i = 0; i < generators_.size(); ++i) generators_[i]->set_state(states_[i]);
  }

 private:
  std::vector<Generator*> generators_;
  std::vector<Generator::State> states_;
};

}  // namespace

GradcheckResult gradcheck_module(BasicModule<double>& module, const TensorD& input,
                                 const GradcheckOptions& options) {
  BufferSnapshot snapshot(module);
  GeneratorSnapshot generators(module);
  auto restore = [&] {
    snapshot.restore();
    generators.restore();
  };
  auto f = [&](const std::vector<TensorD>& in) {
    restore();  // every evaluation sees the same state and draws the same mask
    return module.forward(in[0]);
  };
  GradcheckOptions plain = options;
  plain.state.clear();
  try {
    GradcheckResult result = gradcheck(f, {input}, module.named_parameters(), plain);
    restore();
    return result;
  } catch (...) {
    restore();
    throw;
  }
}

}  // namespace mg::nn

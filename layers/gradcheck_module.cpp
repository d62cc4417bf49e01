#include "layers/gradcheck_module.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

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

}  // namespace

GradcheckResult gradcheck_module(BasicModule<double>& module, const TensorD& input,
                                 const GradcheckOptions& options) {
  BufferSnapshot snapshot(module);
  auto f = [&](const std::vector<TensorD>& in) {
    snapshot.restore();  // every evaluation sees the same state
    return module.forward(in[0]);
  };
  GradcheckOptions plain = options;
  plain.state.clear();
  try {
    GradcheckResult result = gradcheck(f, {input}, module.named_parameters(), plain);
    snapshot.restore();
    return result;
  } catch (...) {
    snapshot.restore();
    throw;
  }
}

}  // namespace mg::nn

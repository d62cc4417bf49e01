#include "run_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "core/dot.hpp"

namespace train_mlp {

StepLog::StepLog(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error(
        fmt::format("--log-steps: cannot open {}: {}", path.string(), std::strerror(errno)));
  }
}

StepLog::~StepLog() {
  if (fd_ >= 0) ::close(fd_);
}

void StepLog::append(std::string_view line) {
  // One write(2) per line, unbuffered: nothing waits in a buffer whose failure would come later.
  while (!line.empty()) {
    const ssize_t done = ::write(fd_, line.data(), line.size());
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) {
      throw std::runtime_error(
          fmt::format("--log-steps: cannot write {}: {}", path_.string(), std::strerror(errno)));
    }
    line.remove_prefix(static_cast<std::size_t>(done));
  }
}

void StepLog::close() {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0) {
    throw std::runtime_error(
        fmt::format("--log-steps: cannot write {}: {}", path_.string(), std::strerror(errno)));
  }
}

void write_test_set_csv(const std::filesystem::path& path, const mg::data::Dataset& test) {
  std::string text = "x0,x1,label\n";
  for (size_t i = 0; i < test.y.size(); ++i) {
    text += fmt::format("{:.9g},{:.9g},{}\n", test.x.at(static_cast<int64_t>(i), 0),
                        test.x.at(static_cast<int64_t>(i), 1), test.y[i]);
  }
  write_text(path, text);
}

void write_graph_dot(const std::filesystem::path& path, const mg::Tensor& loss,
                     const mg::nn::NamedTensors<float>& parameters) {
  write_text(path, mg::to_dot(loss, {.names = parameters}));
}

}  // namespace train_mlp

#include "common/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace examples {

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path partial = path;
  partial += ".partial";
  // A stream's operator<< only fills its buffer: a small file meets the disk at close, whose
  // error a std::ofstream drops. Plain write, fsync and close each report theirs.
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error(fmt::format("cannot write {}: cannot create {}: {}", path.string(),
                                         partial.string(), std::strerror(errno)));
  }
  auto fail = [&](bool still_open) {
    const int error = errno;
    if (still_open) ::close(fd);
    ::unlink(partial.c_str());  // half a file is of no use to anyone
    throw std::runtime_error(
        fmt::format("cannot write {}: {}", path.string(), std::strerror(error)));
  };
  for (std::string_view rest = text; !rest.empty();) {
    const ssize_t done = ::write(fd, rest.data(), rest.size());
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) fail(true);
    rest.remove_prefix(static_cast<std::size_t>(done));
  }
  // fsync: a file system may report a write's failure only here; and a rename of data not yet
  // on disk could leave an empty file after a power cut.
  if (::fsync(fd) != 0 && errno != EINVAL) fail(true);  // EINVAL: /dev/null and the like
  if (::close(fd) != 0) fail(false);
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) {
    ::unlink(partial.c_str());
    throw std::runtime_error(fmt::format("cannot write {}: cannot rename {} over it: {}",
                                         path.string(), partial.string(), error.message()));
  }
}

}  // namespace examples

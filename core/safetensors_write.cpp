// Writing safetensors: serialize() lays out the bytes, write_file() puts them on disk so that a
// crash at any moment leaves either the previous checkpoint or the new one, never a mix.
// The format is described in core/safetensors.hpp.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/safetensors.hpp"

namespace mg::safetensors {
namespace {

// ordered_json keeps a tensor's fields in the spec's order: dtype, shape, data_offsets.
using Json = nlohmann::ordered_json;

std::atomic<testing::FailPoint> g_fail_point{testing::FailPoint::None};

// The name as a JSON string, for messages; bad UTF-8 is replaced rather than thrown on.
std::string show(const std::string& name) {
  return Json(name).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Refuses an entry that parse() would refuse, so that what we write can always be read back.
void check_entry(const Entry& entry, std::set<std::string_view>& names) {
  if (entry.name == "__metadata__") {
    fail<CheckpointError>(
        "safetensors: cannot write a tensor named \"__metadata__\" (the key is "
        "reserved for metadata)");
  }
  if (!names.insert(entry.name).second) {
    fail<CheckpointError>("safetensors: cannot write two tensors named {}", show(entry.name));
  }
  std::optional<uint64_t> needed = byte_size(entry.dtype, entry.shape);
  if (!needed) {
    fail<CheckpointError>(
        "safetensors: cannot write tensor {}: expected non-negative dims whose byte size fits 64 "
        "bits, got shape [{}]",
        show(entry.name), fmt::join(entry.shape, ", "));
  }
  if (*needed != entry.data.size()) {
    fail<CheckpointError>(
        "safetensors: cannot write tensor {}: {} of shape [{}] needs {} bytes of data, got {}",
        show(entry.name), dtype_name(entry.dtype), fmt::join(entry.shape, ", "), *needed,
        entry.data.size());
  }
}

void put_u64_le(uint64_t value, std::byte* out) {
  for (int i = 0; i < 8; ++i) out[i] = std::byte((value >> (8 * i)) & 0xFF);
}

// The temporary file of write_file: `path` + ".tmp", beside the checkpoint so that the rename
// stays within one file system. Saves to one path take turns, whether they run in threads of
// one process or in several processes: each holds an exclusive flock(2) on the temporary file
// from opening it until it has renamed it over the checkpoint, so two saves never write into
// the same file, and the checkpoint is always exactly one of the saved files. A save that was
// killed leaves the file behind, unlocked (a dead process's locks go with it): the next save
// to the same path takes it over and truncates it. If commit() was not reached, the destructor
// removes the file, still holding the lock, then closes it.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (locked_ && !committed_) ::unlink(path_.c_str());
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

  const std::string& path() const { return path_; }
  // Opens, locks (waiting for a save that holds the lock) and empties the file. On an OS error
  // returns false with errno set and `step` naming the call that failed.
  bool open(const char*& step) {
    for (;;) {
      struct stat left {};
      if (::lstat(path_.c_str(), &left) == 0 && !S_ISREG(left.st_mode)) {
        errno = EEXIST;  // a link, FIFO or folder at the temporary name is not ours to take
        step = "open (something other than a regular file is there)";
        return false;
      }
      step = "open";
      // O_NOFOLLOW: a link left at the temporary name must not send the bytes to the file it
      // leads to; O_NONBLOCK: a FIFO there must not wait for a reader. Either is refused below.
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
      if (fd_ < 0) return false;
      step = "flock";
      int locked;
      while ((locked = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
      }
      if (locked != 0) return false;
      // While this save waited, the one holding the lock may have renamed the file to the
      // checkpoint, or removed it: go on only if the name still leads to the file now locked.
      struct stat ours {
      }, named{};
      step = "stat";
      if (::fstat(fd_, &ours) != 0) return false;
      if (!S_ISREG(ours.st_mode)) {
        errno = EEXIST;  // it appeared after the check above
        step = "open (something other than a regular file is there)";
        return false;
      }
      if (::lstat(path_.c_str(), &named) == 0 && named.st_dev == ours.st_dev &&
          named.st_ino == ours.st_ino) {
        locked_ = true;
        step = "ftruncate";
        return ::ftruncate(fd_, 0) == 0;
      }
      ::close(fd_);  // try again with the file now at that name, or a new one
      fd_ = -1;
    }
  }
  // Writes all of `bytes`, resuming after partial writes and signals.
  bool write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const ssize_t done = ::write(fd_, bytes.data(), bytes.size());
      if (done < 0 && errno == EINTR) continue;
      if (done < 0) return false;
      bytes = bytes.subspan(static_cast<std::size_t>(done));
    }
    return true;
  }
  // fsync reports any error of the writes, deferred ones (NFS) included.
  bool sync() { return ::fsync(fd_) == 0; }
  // Renames the file over `target`, still locked; the destructor's close then releases it.
  bool commit(const std::string& target) {
    committed_ = ::rename(path_.c_str(), target.c_str()) == 0;
    return committed_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool locked_ = false;  // this save owns the file at path_
  bool committed_ = false;
};

// Throws if the failure-injection hook is set to `here`, and disarms it.
void maybe_fail(testing::FailPoint here, const std::string& path, const char* step) {
  testing::FailPoint armed = here;
  if (g_fail_point.compare_exchange_strong(armed, testing::FailPoint::None)) {
    fail<CheckpointError>("safetensors: cannot write '{}': simulated crash {} (testing hook)", path,
                          step);
  }
}

// Makes the rename durable: until the folder's entry is synced, a power cut can undo it.
void sync_folder(const std::string& path) {
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  // EINVAL: the file system cannot sync folders; the rename is then as durable as it gets.
  const bool ok = fd >= 0 && (::fsync(fd) == 0 || errno == EINVAL);
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) {
    fail<CheckpointError>("safetensors: wrote '{}' but could not sync its folder '{}': {}", path,
                          folder, std::strerror(error));
  }
}

// The file a save replaces: `path`, or where its symbolic links lead, so that a save writes
// through a link as opening the path would, and leaves the link in place. Anything but a
// regular file there is refused: the rename would replace a device or a FIFO with a file.
std::string save_target(const std::string& path) {
  std::filesystem::path target = path;
  std::error_code error;
  for (int hops = 0; std::filesystem::is_symlink(target, error); ++hops) {
    const std::filesystem::path next = std::filesystem::read_symlink(target, error);
    if (error || hops == 40) {
      fail<CheckpointError>("safetensors: cannot write '{}': cannot follow its symbolic link: {}",
                            path, error ? error.message() : "too many levels of links");
    }
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  struct stat info {};
  if (::stat(target.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    fail<CheckpointError>(
        "safetensors: cannot write '{}': expected a regular file or a new path, got {}", path,
        S_ISDIR(info.st_mode) ? "a directory" : "a device, FIFO or socket");
  }
  return target.string();
}

}  // namespace

std::vector<std::byte> serialize(const File& file) {
  // The header is written entry by entry rather than as one JSON object, so that it lists the
  // tensors in data order (std::map would sort them by name) in time linear in their number.
  std::vector<std::string> items;  // "key":value, one per metadata block and tensor
  std::set<std::string_view> names;
  uint64_t data_size = 0;
  try {
    if (!file.metadata.empty()) {
      items.push_back("\"__metadata__\":" + nlohmann::json(file.metadata).dump());
    }
    for (const Entry& entry : file.tensors) {
      check_entry(entry, names);
      const Json fields = {{"dtype", std::string(dtype_name(entry.dtype))},
                           {"shape", entry.shape},
                           {"data_offsets", {data_size, data_size + entry.data.size()}}};
      items.push_back(Json(entry.name).dump() + ":" + fields.dump());
      data_size += entry.data.size();
    }
  } catch (const Json::type_error& e) {  // a name or metadata string that is not UTF-8
    fail<CheckpointError>("safetensors: cannot write a header with invalid UTF-8: {}", e.what());
  }
  std::string text = fmt::format("{{{}}}", fmt::join(items, ","));
  // Spaces pad the header to a multiple of 8, so the data section starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<std::byte> bytes(8 + text.size() + data_size);
  put_u64_le(text.size(), bytes.data());
  std::memcpy(bytes.data() + 8, text.data(), text.size());
  std::byte* out = bytes.data() + 8 + text.size();  // (data section)
  for (const Entry& entry : file.tensors) {
    if (!entry.data.empty()) std::memcpy(out, entry.data.data(), entry.data.size());
    out += entry.data.size();
  }
  return bytes;
}

void write_file(const std::string& path, const File& file) {
  using testing::FailPoint;
  const std::vector<std::byte> bytes = serialize(file);  // a bad entry throws before any I/O
  const std::string target = save_target(path);
  TempFile temp(target + ".tmp");
  const char* step = "";
  auto os_fail = [&](const char* what) {
    fail<CheckpointError>("safetensors: cannot write '{}': {} '{}' failed: {}", path, what,
                          temp.path(), std::strerror(errno));
  };
  if (!temp.open(step)) os_fail(step);
  maybe_fail(FailPoint::AfterOpen, path, "after opening the temporary file");
  const std::span<const std::byte> all(bytes);
  if (!temp.write(all.first(all.size() / 2))) os_fail("write");
  maybe_fail(FailPoint::HalfWritten, path, "with the temporary file half written");
  if (!temp.write(all.subspan(all.size() / 2))) os_fail("write");
  if (!temp.sync()) os_fail("fsync");
  maybe_fail(FailPoint::BeforeRename, path, "before renaming the temporary file");
  if (!temp.commit(target)) os_fail("rename");
  sync_folder(target);
}

void testing::set_fail_point(FailPoint point) {
  g_fail_point = point;
}

}  // namespace mg::safetensors

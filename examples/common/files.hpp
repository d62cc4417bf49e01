// Writing the examples' output files so that a failure is never silent: a full disk, a folder
// that cannot be written or a file system that reports its errors late (at fsync or close, as
// NFS does) all end in an error naming the file and the OS's reason, and the file written
// before stays as it was.
#pragma once

#include <filesystem>
#include <string_view>

namespace examples {

// Writes `text` to `path` whole, atomically: it goes to `path` + ".partial" beside it, is
// synced and closed with every step checked, and only then renamed over `path`, so a reader
// (or a crash) sees the old file or the new one, never half of one. std::runtime_error naming
// the path and the OS's reason if it cannot; the old file is then untouched and the partial
// file removed.
void write_text(const std::filesystem::path& path, std::string_view text);

}  // namespace examples

// Checkpoints: a module's state_dict in the safetensors format (core/safetensors.hpp).
//
// Keys are PyTorch's state_dict keys ("0.weight", "1.running_var", "1.num_batches_tracked"),
// float tensors are F32, counters are 0-dim I64 as in PyTorch, so a minigrad checkpoint loads
// into the identical PyTorch model with safetensors.torch.load_file + load_state_dict.
#pragma once

#include <map>
#include <string>

#include "layers/module.hpp"

namespace mg::nn {

// The version of the layout of keys and metadata written by save(); load() accepts it and
// files without one (written by another safetensors writer), and refuses a minigrad file of
// any other version.
inline constexpr const char* kCheckpointFormatVersion = "1";

// Writes module.state_dict() to `path` atomically (temporary file, fsync, rename: a crash leaves
// the previous checkpoint whole). Metadata always holds "format" = "minigrad",
// "format_version" and "architecture" (the module's repr); `metadata` adds to it.
void save(Module& module, const std::string& path,
          const std::map<std::string, std::string>& metadata = {});

// Reads `path` and loads it into `module`. Everything is validated first (the file, then every
// key, dtype and shape against the module); on any error it throws mg::CheckpointError naming
// the path and the problem, and the module is unchanged. Returns the file's metadata.
std::map<std::string, std::string> load(Module& module, const std::string& path);

}  // namespace mg::nn

// mg::save and mg::load: the same two functions under the names users reach for first (they
// live in mg::nn because they work on modules; see docs/architecture.md, "Folders and
// namespaces").
namespace mg {
using nn::kCheckpointFormatVersion;
using nn::load;
using nn::save;
}  // namespace mg

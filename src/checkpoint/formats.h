// Internal entry points of the per-format readers (src/checkpoint/*.cc); load.cc dispatches.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "ernie/checkpoint.h"

namespace ernie::checkpoint {

// A whole file mapped read-only (empty files map to nothing).
struct MappedFile {
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::shared_ptr<const void> keep;   // unmaps when the last owner goes
};
MappedFile map_file(const std::filesystem::path& file);

// One-line printable form of a string from a file (non-printable bytes as '?', capped length).
std::string printable(const std::string& s, size_t max_len = 200);

Checkpoint read_pdparams_file(const std::filesystem::path& file, const ReadLimits& limits);
Checkpoint read_torch_zip_file(const std::filesystem::path& file, const ReadLimits& limits);
Checkpoint read_sharded_index(const std::filesystem::path& index, const ReadLimits& limits);

// True for the first bytes of a legacy (pre-1.6) torch.save file: pickle protocol 2 + magic number.
bool is_legacy_torch(const uint8_t* data, size_t size);

}  // namespace ernie::checkpoint

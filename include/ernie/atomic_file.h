// Atomic file replacement: bytes go to a temporary file beside the target, which is fsynced and
// renamed over the target, so a reader (or a crash at any moment) sees the old file or the new
// one, never a mix. Used for every file that matters: configs, checkpoints, training state.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string_view>

namespace ernie {

class AtomicFile {
 public:
  explicit AtomicFile(const std::filesystem::path& target);   // creates the temporary file
  ~AtomicFile();                                               // not committed: removes it
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();   // fsync, rename into place, fsync the folder (best effort)
  // The temporary file, for writers that fill parts of it through descriptors of their own
  // (other processes of a job) before commit().
  const std::filesystem::path& temp_path() const { return tmp_; }

 private:
  std::filesystem::path target_, tmp_;
  int fd_ = -1;
};

// The whole file at once.
void write_file_atomic(const std::filesystem::path& target, std::string_view bytes);

}  // namespace ernie

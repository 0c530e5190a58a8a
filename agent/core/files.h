#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/core/result.h"

namespace demarc {

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Reads a whole file. Errors name the path.
Result<std::string> readFile(const std::filesystem::path& path);

// Reads at most max_bytes from an open descriptor; errors name path.
Result<std::string> readFdPrefix(int fd, size_t max_bytes, const std::filesystem::path& path);

// Reads at most max_bytes of a file (for files under /proc and /sys whose
// size is not known up front, and for files that must not be slurped whole).
Result<std::string> readFilePrefix(const std::filesystem::path& path, size_t max_bytes);

struct AtomicWriteOptions {
  mode_t mode = 0644;
  bool fsync = true;  // fsync the file before rename and the folder after
  // With fsync: drop the file's pages from the page cache once on disk. For
  // files written once and not read back soon (journal batches), which
  // would otherwise push the host's own data out of memory.
  bool uncached = false;
};

// Writes bytes to path so that a reader (or a crash) sees either the old
// file or the whole new one: temp file in the same folder, fsync, rename,
// fsync of the folder. Temp files start with "." and end in ".tmp".
Status writeFileAtomic(const std::filesystem::path& path, std::string_view bytes,
                       const AtomicWriteOptions& options = {});

// Gives path the contents of `existing` without copying them: a hard link,
// made atomically like writeFileAtomic (temp link, fsync of the file when
// options.fsync, rename, fsync of the folder). Only for a file that is
// never written again (it shares its inode, mode included, with path).
// Returns false, leaving nothing behind, when no link can be made here
// (another filesystem, links not supported, `existing` not of
// options.mode): the caller then writes the bytes.
Result<bool> linkFileAtomic(const std::filesystem::path& existing,
                            const std::filesystem::path& path,
                            const AtomicWriteOptions& options = {});

// True for the temp files writeFileAtomic leaves behind when it is killed.
bool isAtomicWriteLeftover(const std::filesystem::path& path);

Status fsyncDirectory(const std::filesystem::path& dir);

// Takes an exclusive advisory lock on path (created if needed) for the life
// of the returned descriptor. Fails at once, naming the holder's pid when it
// is recorded, if another process holds it.
Result<UniqueFd> lockFile(const std::filesystem::path& path);

// Creates dir and its parents (mode applies to folders it creates).
Status ensureDirectory(const std::filesystem::path& dir, mode_t mode = 0755);

}  // namespace demarc

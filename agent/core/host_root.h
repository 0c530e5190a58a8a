#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/files.h"
#include "agent/core/result.h"

namespace demarc {

// The root every reader of host state goes through: "/" on a live host, a
// mounted image for `demarc scan --root`, a temp folder in tests. Nothing
// else in the agent spells out /proc or /etc paths on its own.
class HostRoot {
 public:
  explicit HostRoot(std::filesystem::path root = "/") : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  bool isLive() const { return root_ == "/"; }

  // Maps an absolute host path ("/proc/sys/kernel/hostname") under the root.
  std::filesystem::path path(std::string_view host_path) const;

  // Reads a small host file (bounded: host files under /proc and /etc are
  // never trusted to be small). Trailing newlines are kept.
  Result<std::string> read(std::string_view host_path, size_t max_bytes = 1 << 20) const;
  // Same, first line only, without its newline and surrounding blanks.
  Result<std::string> readLine(std::string_view host_path) const;

  // Calls fn(line, line_no) for each line of a host file (without its
  // newline), reading a piece at a time: for tables that can be large, such
  // as /proc/net/tcp with every TIME_WAIT socket of the host. A line longer
  // than max_line bytes is an error that names the file and line.
  Status forEachLine(std::string_view host_path,
                     const std::function<void(std::string_view line, size_t line_no)>& fn,
                     size_t max_line = 64 * 1024) const;

  // Opens a host path; under an image root every symlink resolves inside it.
  Result<UniqueFd> open(std::string_view host_path, int flags = O_RDONLY) const;
  // The path itself (a symlink is not followed), resolved inside the root.
  Result<struct stat> lstat(std::string_view host_path) const;
  // Target of a symlink, as stored in it.
  Result<std::string> readLink(std::string_view host_path) const;

  struct DirEntry {
    std::string name;
    unsigned char type = 0;  // DT_REG, DT_DIR, DT_LNK, ... (DT_UNKNOWN on some filesystems)
  };
  // Entries of a folder, without "." and "..", sorted by name.
  Result<std::vector<DirEntry>> list(std::string_view host_dir) const;
  // Host paths matching a shell pattern ("/etc/ssh/sshd_config.d/*.conf"),
  // one component at a time through list(), so a symlinked folder cannot
  // lead out of the root. Sorted; no match is an empty list.
  std::vector<std::string> glob(std::string_view pattern) const;

 private:
  std::filesystem::path root_;
};

}  // namespace demarc

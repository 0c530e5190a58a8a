#pragma once

#include <filesystem>
#include <string>
#include <string_view>

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

 private:
  std::filesystem::path root_;
};

}  // namespace demarc

#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace demarc {

// One line of a mount table: fstab, /proc/mounts, /proc/self/mounts.
struct MountEntry {
  std::string device;
  std::string mount_point;
  std::string fstype;
  std::vector<std::string> options;
  std::string source;  // "/proc/self/mounts:12" or "/etc/fstab:4"
};

// The entries of a mount table (comments and short lines skipped; the
// \ooo escapes of spaces and tabs undone). `path` names the source.
std::vector<MountEntry> parseMountTable(std::string_view text, const std::string& path);

}  // namespace demarc

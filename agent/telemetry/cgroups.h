#pragma once

#include <cstdint>
#include <string>

#include "agent/core/result.h"

namespace demarc::telemetry {

// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
// /sys/fs/cgroup/unified on hybrid hosts), from a mount table.
Result<std::string> cgroup2Mount(const std::string& mounts = "/proc/self/mounts");

// The id the kernel gives the cgroup at `path` (as in /proc/PID/cgroup:
// "/system.slice/ssh.service") under `mount`: its directory's inode number.
Result<uint64_t> cgroupIdOf(const std::string& mount, const std::string& path);

}  // namespace demarc::telemetry

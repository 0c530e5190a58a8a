#include "agent/telemetry/cgroups.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/core/mount_table.h"

namespace demarc::telemetry {

Result<std::string> cgroup2Mount(const std::string& mounts) {
  std::ifstream in(mounts);
  if (!in) return Error(ErrorCode::kIo, mounts + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& m : parseMountTable(text.str(), mounts)) {
    if (m.fstype == "cgroup2") return m.mount_point;
  }
  return Error(ErrorCode::kNotFound, mounts + ": no cgroup2 file system is mounted");
}

Result<uint64_t> cgroupIdOf(const std::string& mount, const std::string& path) {
  if (path.empty() || path.front() != '/' || path.find("/..") != std::string::npos) {
    return Error(
        ErrorCode::kInvalidArgument,
        "'" + path + "': expected an absolute cgroup path such as /system.slice/ssh.service");
  }
  std::string dir = mount + (path == "/" ? "" : path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kNotFound, "'" + path + "': no such cgroup (" + dir + ")");
  }
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace demarc::telemetry

#include "agent/telemetry/cgroups.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace demarc::telemetry {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::isdigit(static_cast<unsigned char>(field[i + 1])) != 0) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

Result<std::string> cgroup2Mount(const std::string& mountinfo) {
  std::ifstream in(mountinfo);
  if (!in) return Error(ErrorCode::kIo, mountinfo + ": " + std::strerror(errno));
  std::string line;
  while (std::getline(in, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;) f.push_back(word);
    for (size_t i = 6; i + 1 < f.size(); ++i) {
      if (f[i] == "-") {
        if (f[i + 1] == "cgroup2" && f.size() > 4) return unescape(f[4]);
        break;
      }
    }
  }
  return Error(ErrorCode::kNotFound, mountinfo + ": no cgroup2 file system is mounted");
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

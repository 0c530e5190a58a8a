#include "agent/core/host_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "agent/core/files.h"

namespace demarc {

std::filesystem::path HostRoot::path(std::string_view host_path) const {
  while (!host_path.empty() && host_path.front() == '/') host_path.remove_prefix(1);
  return root_ / std::filesystem::path(host_path);
}

Result<std::string> HostRoot::read(std::string_view host_path, size_t max_bytes) const {
  if (isLive()) return readFilePrefix(path(host_path), max_bytes);
  // An image under scan may hold symlinks to absolute paths ("/etc/shadow")
  // or "../.." chains. openat2(RESOLVE_IN_ROOT) resolves them as a chroot
  // would: inside the image, never on the scanning host.
  UniqueFd dir(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errnoError("open root " + root_.string(), errno);
  std::string relative(host_path);
  while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
  if (relative.empty()) relative = ".";
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(
      static_cast<int>(::syscall(SYS_openat2, dir.get(), relative.c_str(), &how, sizeof(how))));
  if (!fd.valid()) {
    if (errno == ENOSYS) {
      return Error(ErrorCode::kUnavailable,
                   "this kernel lacks openat2 (Linux 5.6+), needed to read " + root_.string() +
                       " without following symlinks out of it");
    }
    return errnoError("open " + path(host_path).string(), errno);
  }
  return readFdPrefix(fd.get(), max_bytes, path(host_path));
}

Result<std::string> HostRoot::readLine(std::string_view host_path) const {
  DEMARC_ASSIGN_OR_RETURN(std::string text, read(host_path, 64 * 1024));
  std::string_view line(text);
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return std::string(line);
}

}  // namespace demarc

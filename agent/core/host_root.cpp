#include "agent/core/host_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "agent/core/files.h"

namespace demarc {

std::filesystem::path HostRoot::path(std::string_view host_path) const {
  while (!host_path.empty() && host_path.front() == '/') host_path.remove_prefix(1);
  return root_ / std::filesystem::path(host_path);
}

namespace {

std::string relativeOf(std::string_view host_path) {
  while (!host_path.empty() && host_path.front() == '/') host_path.remove_prefix(1);
  return host_path.empty() ? std::string(".") : std::string(host_path);
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

Result<UniqueFd> HostRoot::open(std::string_view host_path, int flags) const {
  if (isLive()) {
    UniqueFd fd(::open(path(host_path).c_str(), flags | O_CLOEXEC));
    if (!fd.valid()) return errnoError("open " + path(host_path).string(), errno);
    return fd;
  }
  // An image under scan may hold symlinks to absolute paths ("/etc/shadow")
  // or "../.." chains. openat2(RESOLVE_IN_ROOT) resolves them as a chroot
  // would: inside the image, never on the scanning host.
  UniqueFd dir(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errnoError("open root " + root_.string(), errno);
  std::string relative = relativeOf(host_path);
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
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
  return fd;
}

Result<std::string> HostRoot::read(std::string_view host_path, size_t max_bytes) const {
  if (isLive()) return readFilePrefix(path(host_path), max_bytes);
  DEMARC_ASSIGN_OR_RETURN(UniqueFd fd, open(host_path));
  return readFdPrefix(fd.get(), max_bytes, path(host_path));
}

Status HostRoot::forEachLine(std::string_view host_path,
                             const std::function<void(std::string_view, size_t)>& fn,
                             size_t max_line) const {
  DEMARC_ASSIGN_OR_RETURN(UniqueFd fd, open(host_path));
  std::string pending;
  std::vector<char> buf(64 * 1024);
  size_t line_no = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError("read " + path(host_path).string(), errno);
    if (n == 0) break;
    pending.append(buf.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      fn(std::string_view(pending).substr(start, nl - start), ++line_no);
    }
    pending.erase(0, start);
    if (pending.size() > max_line) {
      return Error(ErrorCode::kInvalidArgument,
                   path(host_path).string() + ": line " + std::to_string(line_no + 1) +
                       " is longer than " + std::to_string(max_line) + " bytes");
    }
  }
  if (!pending.empty()) fn(pending, ++line_no);
  return okStatus();
}

Result<struct stat> HostRoot::lstat(std::string_view host_path) const {
  std::filesystem::path p(relativeOf(host_path));
  std::string name = p.filename().string();
  if (name.empty() || name == ".") {
    DEMARC_ASSIGN_OR_RETURN(UniqueFd self, open(host_path, O_PATH));
    struct stat st {};
    if (::fstat(self.get(), &st) != 0) return errnoError("stat " + path(host_path).string(), errno);
    return st;
  }
  DEMARC_ASSIGN_OR_RETURN(UniqueFd parent,
                          open("/" + p.parent_path().string(), O_PATH | O_DIRECTORY));
  struct stat st {};
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errnoError("stat " + path(host_path).string(), errno);
  }
  return st;
}

Result<std::string> HostRoot::readLink(std::string_view host_path) const {
  std::filesystem::path p(relativeOf(host_path));
  DEMARC_ASSIGN_OR_RETURN(UniqueFd parent,
                          open("/" + p.parent_path().string(), O_PATH | O_DIRECTORY));
  char buf[4096];
  ssize_t n = ::readlinkat(parent.get(), p.filename().c_str(), buf, sizeof(buf));
  if (n < 0) return errnoError("readlink " + path(host_path).string(), errno);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::vector<HostRoot::DirEntry>> HostRoot::list(std::string_view host_dir) const {
  DEMARC_ASSIGN_OR_RETURN(UniqueFd fd, open(host_dir, O_RDONLY | O_DIRECTORY));
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd.get()));
  if (!dir) return errnoError("list " + path(host_dir).string(), errno);
  fd.release();  // owned by dir now
  std::vector<DirEntry> entries;
  while (const dirent* e = ::readdir(dir.get())) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    entries.push_back(DirEntry{std::string(name), e->d_type});
  }
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

std::vector<std::string> HostRoot::glob(std::string_view pattern) const {
  std::vector<std::string> parts;
  for (size_t pos = 0; pos < pattern.size();) {
    size_t slash = pattern.find('/', pos);
    if (slash == std::string_view::npos) slash = pattern.size();
    if (slash > pos) parts.emplace_back(pattern.substr(pos, slash - pos));
    pos = slash + 1;
  }
  std::vector<std::string> current{""};
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    bool last = i + 1 == parts.size();
    std::vector<std::string> next;
    bool wild = part.find_first_of("*?[") != std::string::npos;
    for (const std::string& base : current) {
      if (!wild) {
        std::string candidate = base + "/" + part;
        if (last ? lstat(candidate).ok() : open(candidate, O_PATH | O_DIRECTORY).ok()) {
          next.push_back(candidate);
        }
        continue;
      }
      auto entries = list(base.empty() ? "/" : base);
      if (!entries.ok()) continue;
      for (const DirEntry& e : *entries) {
        // Like glob(3): a leading dot must be matched explicitly.
        if (::fnmatch(part.c_str(), e.name.c_str(), FNM_PERIOD) != 0) continue;
        next.push_back(base + "/" + e.name);
      }
    }
    current = std::move(next);
  }
  if (parts.empty()) return {};
  std::sort(current.begin(), current.end());
  return current;
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

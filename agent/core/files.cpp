#include "agent/core/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace demarc {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

Status writeAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("write " + path.string(), errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return okStatus();
}

}  // namespace

Result<std::string> readFdPrefix(int fd, size_t max_bytes, const std::filesystem::path& path) {
  std::string out;
  // A regular file's size is known: one allocation instead of a doubling
  // series (journal batches are megabytes). /proc files say 0 and grow.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    out.reserve(std::min(max_bytes, static_cast<size_t>(st.st_size)));
  }
  char buf[65536];
  while (out.size() < max_bytes) {
    size_t want = std::min(sizeof(buf), max_bytes - out.size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("read " + path.string(), errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {

Result<std::string> readUpTo(const std::filesystem::path& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError("open " + path.string(), errno);
  return readFdPrefix(fd.get(), max_bytes, path);
}

}  // namespace

Result<std::string> readFile(const std::filesystem::path& path) {
  return readUpTo(path, static_cast<size_t>(-1));
}

Result<std::string> readFilePrefix(const std::filesystem::path& path, size_t max_bytes) {
  return readUpTo(path, max_bytes);
}

Status fsyncDirectory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errnoError("open folder " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) return errnoError("fsync folder " + dir.string(), errno);
  return okStatus();
}

namespace {

std::filesystem::path folderOf(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// Where writeFileAtomic and linkFileAtomic stage a file: beside it, hidden,
// named so that isAtomicWriteLeftover recognises it.
std::filesystem::path atomicTempPath(const std::filesystem::path& path) {
  return folderOf(path) / ("." + path.filename().string() + ".tmp");
}

}  // namespace

bool isAtomicWriteLeftover(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  return name.size() > 5 && name.front() == '.' && name.ends_with(".tmp");
}

Status writeFileAtomic(const std::filesystem::path& path, std::string_view bytes,
                       const AtomicWriteOptions& options) {
  const std::filesystem::path dir = folderOf(path);
  const std::filesystem::path tmp = atomicTempPath(path);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, options.mode));
  if (!fd.valid()) return errnoError("create " + tmp.string(), errno);
  // open() applies the umask; the caller's mode is what the file must have.
  if (::fchmod(fd.get(), options.mode) != 0) return errnoError("chmod " + tmp.string(), errno);
  DEMARC_TRY(writeAll(fd.get(), bytes, tmp));
  if (options.fsync && ::fsync(fd.get()) != 0) return errnoError("fsync " + tmp.string(), errno);
  if (options.fsync && options.uncached) (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errnoError("rename " + tmp.string() + " to " + path.string(), err);
  }
  if (options.fsync) return fsyncDirectory(dir);
  return okStatus();
}

Result<bool> linkFileAtomic(const std::filesystem::path& existing,
                            const std::filesystem::path& path, const AtomicWriteOptions& options) {
  struct stat st {};
  if (::stat(existing.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return errnoError("stat " + existing.string(), errno);
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != options.mode) return false;
  const std::filesystem::path dir = folderOf(path);
  const std::filesystem::path tmp = atomicTempPath(path);
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return errnoError("remove " + tmp.string(), errno);
  }
  if (::link(existing.c_str(), tmp.c_str()) != 0) {
    int err = errno;
    // Another filesystem, one without hard links (or not for this file),
    // or the file gone meanwhile (not the target's folder).
    bool gone = err == ENOENT && ::access(existing.c_str(), F_OK) != 0;
    if (err == EXDEV || err == EPERM || err == EMLINK || err == EOPNOTSUPP || gone) return false;
    return errnoError("link " + existing.string() + " to " + tmp.string(), err);
  }
  if (options.fsync) {
    UniqueFd fd(::open(existing.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::fsync(fd.get()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return errnoError("fsync " + existing.string(), err);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errnoError("rename " + tmp.string() + " to " + path.string(), err);
  }
  // When path already was a link to the same file, rename() leaves both
  // names in place.
  ::unlink(tmp.c_str());
  if (options.fsync) DEMARC_TRY(fsyncDirectory(dir));
  return true;
}

Result<UniqueFd> lockFile(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return errnoError("open lock " + path.string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) return errnoError("lock " + path.string(), err);
    auto holder = readFilePrefix(path, 32);
    std::string pid = holder.ok() ? *holder : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Error(ErrorCode::kUnavailable,
                 path.string() + " is locked by another process" +
                     (pid.empty() ? "" : " (pid " + pid + ")") +
                     ": is another demarc running with the same state_dir?");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return errnoError("write lock " + path.string(), errno);
  }
  return fd;
}

Status ensureDirectory(const std::filesystem::path& dir, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return okStatus();
  std::filesystem::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) DEMARC_TRY(ensureDirectory(parent, mode));
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return errnoError("create folder " + dir.string(), errno);
  }
  return okStatus();
}

}  // namespace demarc

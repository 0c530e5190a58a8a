#include "agent/telemetry/binary_hashes.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "agent/core/encoding.h"
#include "agent/core/files.h"

namespace demarc::telemetry {

Result<std::string> BinaryHashes::of(const ExecEvent& exec) {
  std::string path = proc_ + "/" + std::to_string(exec.tgid) + "/exe";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (fd.valid() && ::fstat(fd.get(), &st) == 0 && st.st_ino != exec.inode) {
    fd = UniqueFd();  // the pid runs something else by now
  }
  if (!fd.valid() && !exec.filename.empty() && exec.filename.front() == '/') {
    path = exec.filename;
    fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid() && (::fstat(fd.get(), &st) != 0 || st.st_ino != exec.inode)) {
      return Error(ErrorCode::kNotFound,
                   exec.filename + " is no longer the file that was executed");
    }
  }
  if (!fd.valid()) {
    return Error(ErrorCode::kNotFound, "the executable of pid " + std::to_string(exec.tgid) +
                                           " cannot be opened: " + std::strerror(errno));
  }
  Key key{st.st_dev, st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
  if (auto it = cache_.find(key); it != cache_.end()) {
    ++hits_;
    order_.splice(order_.begin(), order_, it->second.second);
    return it->second.first;
  }
  ++misses_;
  auto digest = sha256Fd(fd.get(), path);
  if (!digest.ok()) return digest.error();
  std::string hex = toHex(*digest);
  order_.push_front(key);
  cache_[key] = {hex, order_.begin()};
  while (cache_.size() > capacity_) {
    cache_.erase(order_.back());
    order_.pop_back();
  }
  return hex;
}

}  // namespace demarc::telemetry

#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <tuple>

#include "agent/core/result.h"
#include "agent/telemetry/events.h"

namespace demarc::telemetry {

// SHA-256 of executed binaries, cached by device, inode and change time: a
// binary is read once until it changes. The file is the one the process
// runs (/proc/PID/exe while it lives, else the exec's path if it is still
// the same inode), so a renamed or replaced path is not hashed by mistake.
class BinaryHashes {
 public:
  explicit BinaryHashes(size_t capacity = 4096, std::string proc = "/proc")
      : capacity_(capacity), proc_(std::move(proc)) {}

  // Hex digest of the exec's executable; an error says why there is none.
  Result<std::string> of(const ExecEvent& exec);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  using Key = std::tuple<dev_t, ino_t, int64_t, int64_t>;  // device, inode, ctime s, ns
  size_t capacity_;
  std::string proc_;
  std::list<Key> order_;  // most recent first
  std::map<Key, std::pair<std::string, std::list<Key>::iterator>> cache_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace demarc::telemetry

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/core/host_root.h"
#include "agent/core/result.h"
#include "agent/telemetry/events.h"

namespace demarc::telemetry {

// What the cache knows about one process.
struct ProcessInfo {
  uint32_t tgid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0;
  std::string executable;  // "" for kernel threads
  std::string comm;
  // BOOT_ID-PID-NS: NS is the exec's time since boot for a process seen
  // exec'ing, the fork's for one seen forking (and not exec'ing yet), the
  // start time from /proc for one found at start. Unique across the boot.
  std::string exec_id;
  uint64_t exited_at = 0;  // ktime of its exit; 0 while alive
};

// One step up a process's ancestry.
struct Ancestor {
  uint32_t pid = 0;
  std::string executable;
  std::string exec_id;
};

struct ProcessCacheStats {
  size_t size = 0;
  uint64_t evicted = 0;  // live entries pushed out because the cache was full
  uint64_t unknown = 0;  // events about processes the cache had never seen
};

// Processes by tgid: seeded from /proc at start, then kept by fork, exec
// and exit events. Exited processes stay for a grace period, so events
// that arrive after an exit (a socket's last close, a child's exec) still
// find them. Bounded: past `capacity` the longest-exited entries go first,
// then the oldest live ones (counted as evicted).
class ProcessCache {
 public:
  ProcessCache(std::string boot_id, size_t capacity = 65536,
               uint64_t grace_ns = 30ull * 1'000'000'000);

  // Adds every process under root's /proc; returns how many were added.
  // Processes that vanish while being read are skipped.
  Result<size_t> seed(const HostRoot& root);

  // Applies an event (before or after enriching its record: the entry for
  // an exit stays until the grace period ends).
  void apply(const Event& event);
  // Removes entries that exited more than the grace period before `now`
  // (nanoseconds since boot).
  void expire(uint64_t now);

  const ProcessInfo* find(uint32_t tgid) const;
  // The parent chain of `tgid`, nearest first, at most `depth` entries,
  // stopping at a process the cache does not know (or pid 0).
  std::vector<Ancestor> ancestry(uint32_t tgid, size_t depth) const;
  ProcessCacheStats stats() const;

  std::string execIdOf(uint32_t tgid, uint64_t ns) const;

 private:
  void put(ProcessInfo info);
  void makeRoom();

  std::string boot_id_;
  size_t capacity_;
  uint64_t grace_ns_;
  struct Entry {
    ProcessInfo info;
    uint64_t sequence = 0;  // when it was put: the oldest live entry goes first
  };
  std::unordered_map<uint32_t, Entry> procs_;
  uint64_t sequence_ = 0;
  uint64_t evicted_ = 0;
  uint64_t unknown_ = 0;
};

// Fields of /proc/PID/stat: the command name is in parentheses and may hold
// spaces and parentheses itself, so fields are counted after the last ')'.
struct ProcStat {
  std::string comm;
  uint32_t ppid = 0;
  uint64_t start_ticks = 0;  // field 22: clock ticks since boot
};
Result<ProcStat> parseProcStat(std::string_view text);

}  // namespace demarc::telemetry

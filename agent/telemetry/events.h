#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "agent/core/clock.h"
#include "agent/telemetry/libbpf_util.h"

namespace demarc::telemetry {

struct ExecEvent {
  uint64_t ktime = 0;  // nanoseconds since boot
  uint32_t pid = 0;    // the thread that called execve
  uint32_t tgid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
  uint32_t loginuid = UINT32_MAX;  // unset: 4294967295
  uint64_t cgroup_id = 0;
  uint64_t inode = 0;
  uint32_t dev = 0;  // kernel encoding: major << 20 | minor
  uint64_t start_boottime = 0;
  Hook hook = Hook::kTpBtf;
  std::string comm;
  std::string filename;
  std::string cwd;  // "/" joined; "" when unknown
  bool cwd_truncated = false;
  std::vector<std::string> args;
  uint32_t args_size = 0;       // bytes the kernel reported (capped at the maximum)
  bool args_truncated = false;  // longer than the supported maximum
  bool args_lost = false;       // a chunk was dropped or unreadable
  // Privileges the exec gained: a set-user-ID or set-group-ID executable
  // that changed the effective id, capabilities held without being root.
  bool gained_setuid = false;
  bool gained_setgid = false;
  bool gained_capabilities = false;
  uint32_t exe_mode = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_effective = 0;
};

struct ForkEvent {
  uint64_t ktime = 0;
  uint32_t tgid = 0;  // the new process (with the tracepoint fallback, possibly a new thread)
  uint32_t parent_tgid = 0;
  uint64_t start_boottime = 0;  // 0 when the hook could not tell (tracepoint fallback)
};

struct ExitEvent {
  uint64_t ktime = 0;
  uint32_t tgid = 0;
  uint32_t ppid = 0;
  uint32_t exit_code = 0;  // exit status 0..255 when not signalled
  uint32_t signal = 0;     // the terminating signal, or 0
  bool core_dumped = false;
  uint64_t start_boottime = 0;
  std::string comm;
};

struct TcpEvent {
  enum class Kind { kConnect = 1, kAccept = 2, kListen = 3, kClose = 4 };
  Kind kind = Kind::kConnect;
  uint64_t ktime = 0;
  uint32_t tgid = 0;  // the process the socket belongs to (accept: the listener's)
  uint32_t pid = 0;
  uint32_t uid = 0;
  std::string comm;
  uint64_t cgroup_id = 0;
  uint32_t netns = 0;
  bool ipv6 = false;
  std::string local_address;  // textual: 127.0.0.1, ::1
  uint16_t local_port = 0;
  std::string remote_address;  // listen: the unspecified address
  uint16_t remote_port = 0;
  uint64_t start_ktime = 0;  // close: when the connect or accept began
  uint64_t bytes_sent = 0;   // close: acknowledged by the peer
  uint64_t bytes_received = 0;
  bool failed = false;  // close: never established (refused, timed out, reset)
  Hook hook = Hook::kTpBtf;
};
std::string_view tcpKindName(TcpEvent::Kind kind);  // connect, accept, listen, close

// Credentials of a task, before or after a privilege change.
struct Credentials {
  uint32_t uid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t gid = 0, egid = 0, sgid = 0, fsgid = 0;
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  bool operator==(const Credentials&) const = default;
};

struct PrivilegeEvent {
  enum class Kind { kSetuid = 1, kSetgid, kCapset, kPtrace, kBpfLoad, kModuleLoad };
  Kind kind = Kind::kSetuid;
  std::string syscall;  // setresuid, ptrace, bpf...
  uint64_t ktime = 0;
  uint32_t tgid = 0;
  uint32_t pid = 0;
  std::string comm;
  uint64_t cgroup_id = 0;
  int64_t result = 0;              // 0 or a new fd on success, -errno on failure
  std::array<uint64_t, 3> args{};  // setuid family: the ids asked for; ptrace: the request;
                                   // bpf: the program type; finit_module: the fd
  uint32_t target = 0;             // ptrace: the traced pid
  std::string name;                // bpf: the program's name
  Credentials before;
  Credentials after;
  std::string_view hook;  // which hooks recorded it (a literal): "tracepoint" (syscalls)
};
std::string_view privilegeKindName(PrivilegeEvent::Kind kind);  // setuid, setgid, capset...

// One UDP flow's traffic over an interval: a process's socket and one peer.
struct UdpFlowEvent {
  uint64_t ktime = 0;  // when the interval was read
  uint32_t tgid = 0;   // 0: a socket whose process is not known
  uint32_t uid = 0;
  std::string comm;
  uint64_t cgroup_id = 0;
  bool ipv6 = false;
  std::string local_address;
  uint16_t local_port = 0;
  std::string remote_address;
  uint16_t remote_port = 0;
  uint64_t packets_sent = 0, bytes_sent = 0;  // UDP payload bytes
  uint64_t packets_received = 0, bytes_received = 0;
  uint64_t first_ktime = 0;  // first and last datagram of the interval
  uint64_t last_ktime = 0;
  std::string_view hook;  // which hooks counted it (a literal): "tp_btf", "fexit"
};

using Event = std::variant<ExecEvent, ForkEvent, ExitEvent, TcpEvent, PrivilegeEvent, UdpFlowEvent>;

// Wall-clock time of a CLOCK_BOOTTIME reading (the probe's timestamps).
SystemTime wallClockOf(uint64_t boot_ns);
// CLOCK_BOOTTIME now, in nanoseconds: the probe's clock.
uint64_t nowSinceBoot();

// The largest argument list the probe carries whole; longer ones arrive cut
// at this size with args_truncated set.
size_t maxArgumentBytes();

// Turns raw ring-buffer records (process.h layouts) into events. Exec
// records are held until their argument chunks have arrived; records are
// dispatched through a table by their type, and records that are too short
// or of an unknown type are counted, never trusted.
class EventDecoder {
 public:
  using Sink = std::function<void(Event&&)>;
  explicit EventDecoder(Sink sink) : sink_(std::move(sink)) {}

  void feed(std::string_view record);
  // Emits execs still waiting for chunks (marked args_lost): called once the
  // ring buffer is drained, as no more chunks for them can be in flight
  // after the producer's next record.
  void flush();

  uint64_t malformed() const { return malformed_; }
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    ExecEvent event;
    uint32_t chunks = 0;
    std::vector<std::string> data;  // by chunk index
    uint32_t received = 0;
    bool lost = false;
    int age = 0;  // flush() calls seen
  };
  void decodeExec(std::string_view record);
  void decodeArgs(std::string_view record);
  void decodeFork(std::string_view record);
  void decodeExit(std::string_view record);
  void decodeTcp(std::string_view record);
  void decodePrivilege(std::string_view record);
  void finish(Pending&& p);

  struct Entry {
    size_t size;
    void (EventDecoder::*decode)(std::string_view);
  };
  static const std::array<Entry, 7> kTable;

  Sink sink_;
  std::map<std::pair<uint32_t, uint64_t>, Pending> pending_;  // (tgid, exec ktime)
  uint64_t malformed_ = 0;
};

// A flow as the kernel summed it (probes/udp.h layouts, as raw bytes).
UdpFlowEvent decodeUdpFlow(std::string_view key, std::string_view value, uint64_t now);

// Splits a NUL-separated argument area into arguments.
std::vector<std::string> splitArguments(std::string_view area);

}  // namespace demarc::telemetry

#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/result.h"
#include "agent/telemetry/events.h"
#include "agent/telemetry/libbpf_util.h"

struct bpf_link;
struct bpf_map;
struct bpf_program;
struct ring_buffer;
struct telemetry_bpf;

namespace demarc::telemetry {

// What the probe reports, decided in the kernel before a record is made.
struct EventFilters {
  std::vector<std::string> ignore_comms;  // up to 15 characters, as the kernel keeps them
  std::vector<uint32_t> ignore_uids;      // real uid
  // cgroup v2 ids (the inode numbers of their directories): events of
  // tasks in these subtrees are not reported...
  std::vector<uint64_t> ignore_cgroups;
  // ...and when this is not empty, only events of tasks in these subtrees
  // are. Subtrees are matched up to DM_CGROUP_LEVELS (8) levels deep.
  std::vector<uint64_t> only_cgroups;
  // At most this many events per second of each type on each CPU; the
  // rest are counted as throttled. 0: no limit.
  uint32_t rate_limit = 0;
};

// The ways a feature with more than one is recorded; at start the probe
// takes the first way that loads, in this order for each feature.
enum class Via {
  kNone,
  // UDP flows: the send/receive length tracepoints (tp_btf, Linux 6.3+),
  // else fexit on the UDP send and receive functions (kernels that allow
  // fexit: not in lockdown).
  kLengthTracepoints,
  kFexit,
  // Privilege events: fentry/fexit on the kernel's per-syscall functions
  // (kernels that allow them), else the syscall tracepoints, which put every
  // system call of the host on the tracing path.
  kFentry,
  kSyscallTracepoints,
};
// The hook name records carry: "tp_btf", "fexit", "fentry", "tracepoint".
std::string_view viaName(Via via);

struct TelemetryProbeOptions {
  uint32_t ring_buffer_bytes = 2u << 20;  // rounded up to a power of two, at least a page
  uint32_t self_tgid = 0;                 // activity of this process is not reported
  std::optional<Hook> only_hook;          // try just this set of hooks (tests)
  bool process = true;                    // exec, fork, exit
  bool network = true;                    // TCP connect, accept, listen, close
  // setuid/setgid/capset, ptrace attach, BPF and module loads: syscall
  // tracepoints, which put every system call on the tracing path.
  bool privilege = true;
  // UDP flows: datagrams and bytes per process, socket and peer, summed in
  // the kernel; flushUdpFlows() reads the sums.
  bool udp = true;
  EventFilters filters;
  // Which build of the exec hooks to load: with bpf_loop (Linux 5.17) or
  // with bounded loops. Unset: the kernel is asked (tests set it).
  std::optional<bool> bpf_loop;
  // Whether the cgroup filters use bpf_get_current_ancestor_cgroup_id or
  // read the ancestors from the task's cgroup (kernels without the helper
  // in tracing programs, 5.10). Unset: the kernel is asked (tests set it).
  std::optional<bool> ancestor_cgroup_helper;
  // Record UDP flows or privilege events only this way (tests). Unset: the
  // best the kernel allows.
  std::optional<Via> udp_via;
  std::optional<Via> privilege_via;
  // Wake the reader only when half the ring buffer is waiting: the reader
  // comes back on its poll timeout (so poll() timeouts bound the latency,
  // and a reader that polls often while events flow is never woken). A
  // wakeup is an interrupt on the CPU that produced the event (a VM exit
  // under a hypervisor): at an eighth, a connect storm took 150 to 350 of
  // them, each costing the storm tens of microseconds. Off: every event
  // wakes.
  bool batch_wakeups = true;
};

// The kernel side's event types (probes/events.h), which index counters.
enum EventType : size_t {
  kEventExec = 1,
  kEventArgs = 2,  // a chunk of an exec's argument list
  kEventFork = 3,
  kEventExit = 4,
  kEventTcp = 5,
  kEventPrivilege = 6,
  kEventUdp = 7,  // no records: drops count datagrams of flows the table had no room for
};
inline constexpr size_t kEventTypes = 8;

// Counters kept per CPU and event type by the kernel side: the events the
// ring buffer could not take, or that the rate limit held back.
struct EventCounters {
  std::vector<std::array<uint64_t, kEventTypes>> per_cpu;
  uint64_t total() const;
  uint64_t ofType(size_t type) const;
};
// The name of an event type in drop counters: "process_exec", "tcp"...
std::string_view eventTypeName(size_t type);

// The telemetry probe (probes/telemetry.bpf.c): exec with arguments and
// working directory, fork, exit, TCP connections and privilege changes. Owns its skeleton and
// ring buffer; decodes records through EventDecoder.
class TelemetryProbe {
 public:
  static Result<std::unique_ptr<TelemetryProbe>> open(const TelemetryProbeOptions& options);
  ~TelemetryProbe();
  TelemetryProbe(const TelemetryProbe&) = delete;
  TelemetryProbe& operator=(const TelemetryProbe&) = delete;

  Hook hook() const { return hook_; }
  // Where programs are attached ("tp_btf/sched_process_exec"...), and the
  // optional ones that could not be, with the reason.
  const std::vector<std::string>& attached() const { return attached_; }
  const std::vector<std::string>& missing() const { return missing_; }
  // Waits up to timeout for a wakeup, then reads every record waiting and
  // hands out the events they complete.
  Result<int> poll(std::chrono::milliseconds timeout, const EventDecoder::Sink& sink);
  // Hands out one UdpFlowEvent per flow with traffic since the last call,
  // and starts the next interval; returns how many. Nothing is lost between
  // intervals: the kernel writes into one of two tables while the other is
  // read.
  Result<size_t> flushUdpFlows(const EventDecoder::Sink& sink);
  bool countsUdp() const { return udp_; }
  Via udpVia() const { return udp_via_; }
  Via privilegeVia() const { return privilege_via_; }
  // Better ways passed over for a fallback, with the kernel's reason (for
  // the log: the feature is still recorded).
  const std::vector<std::string>& passedOver() const { return passed_over_; }
  // The features asked for that no hook serves on this kernel ("privilege
  // events", "UDP flows"); a feature served by a fallback is served.
  const std::vector<std::string>& unserved() const { return unserved_; }
  Result<EventCounters> drops() const;
  Result<EventCounters> throttled() const;
  // How often each attached program ran and for how long in all, as the
  // kernel counts it while kernel.bpf_stats_enabled is 1 (zeros otherwise).
  struct ProgramStats {
    std::string name;
    uint64_t runs = 0;
    uint64_t run_time_ns = 0;
  };
  std::vector<ProgramStats> programStats() const;
  uint64_t malformed() const { return decoder_.malformed(); }

  struct KernelBtf;  // what the kernel's BTF says (telemetry_probe.cpp)

 private:
  struct SkeletonDeleter {
    void operator()(telemetry_bpf* skel) const;
  };
  struct RingBufferDeleter {
    void operator()(ring_buffer* rb) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  TelemetryProbe();
  // The ways left to try for UDP flows and privilege events (the first is
  // the one tried), and the better ones passed over, with the reason.
  struct Ways {
    std::vector<Via> udp;
    std::vector<Via> privilege;
    std::vector<std::string> passed_over;
    // Drops the first way of a feature when it is not whole and another
    // remains, noting why; whether it did.
    bool next(bool TelemetryProbeOptions::*feature, bool whole,
              const std::vector<std::string>& missing);
  };
  // One load of the object with one set of hooks, one build of the exec
  // hooks and the first remaining way of each feature (a way whose
  // essential program the kernel refuses is dropped on the spot).
  static Result<std::unique_ptr<TelemetryProbe>> load(const TelemetryProbeOptions& options,
                                                      Hook hook, bool bpf_loop,
                                                      bool ancestor_helper, Ways& ways,
                                                      const KernelBtf& btf);
  // Attaches what the choice (telemetry_probe.cpp) loaded; a hook that does
  // not attach is left out, with its way when it needs it.
  class Choice;
  Result<void> attach(Choice& choice);
  void noteMissing(bool TelemetryProbeOptions::*feature, std::string text);
  static int onSample(void* ctx, void* data, size_t size);
  Result<EventCounters> readCounters(const bpf_map* map, const char* what) const;

  std::unique_ptr<telemetry_bpf, SkeletonDeleter> skel_;
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::vector<std::string> attached_;
  std::vector<const bpf_program*> attached_programs_;  // beside attached_
  std::vector<std::string> missing_;
  std::vector<std::string> unserved_;
  std::vector<std::string> passed_over_;
  bool udp_ = false;
  Via udp_via_ = Via::kNone;
  Via privilege_via_ = Via::kNone;
  // What load() left out, by feature (for the next way's attempt).
  std::vector<std::string> udp_missing_;
  std::vector<std::string> privilege_missing_;
  bool lookup_and_delete_ = true;  // the kernel has it for hash maps (5.14+)
  Hook hook_ = Hook::kTpBtf;
  const EventDecoder::Sink* sink_ = nullptr;
  EventDecoder decoder_;
};

}  // namespace demarc::telemetry

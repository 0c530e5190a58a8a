#include "agent/telemetry/telemetry_probe.h"

#include <fcntl.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include <linux/types.h>  // process.h uses the kernel integer types

#include "agent/core/files.h"
#include "agent/telemetry/cgroups.h"
#include "probes/events.h"
#include "probes/telemetry.skel.h"
#include "probes/udp.h"

namespace demarc::telemetry {
namespace {

uint32_t ringSize(uint32_t requested) {
  auto page = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
  uint32_t size = page;
  while (size < requested && size < (1u << 30)) size <<= 1;
  return size;
}

constexpr bool same(EventType ours, dm_event_type theirs) {
  return static_cast<size_t>(ours) == static_cast<size_t>(theirs);
}
static_assert(kEventTypes == DM_EVENT_TYPES && same(kEventExec, DM_EVENT_EXEC) &&
              same(kEventArgs, DM_EVENT_ARGS) && same(kEventFork, DM_EVENT_FORK) &&
              same(kEventExit, DM_EVENT_EXIT) && same(kEventTcp, DM_EVENT_TCP) &&
              same(kEventPrivilege, DM_EVENT_PRIV) && same(kEventUdp, DM_EVENT_UDP));

// Each program: the hook set it belongs to (none: the same in both), the
// feature it serves, whether the probe loads without it, which of the exec
// hooks' two builds it is (with bpf_loop, or bounded loops for kernels
// before 5.17), and for privilege and UDP the way of recording it belongs to
// and whether that way is incomplete without it.
using Programs = decltype(telemetry_bpf::progs);  // the skeleton's struct of programs
enum class Loop { kAny, kHelper, kBounded };
struct Program {
  bpf_program* Programs::*prog;
  std::optional<Hook> hook;
  bool TelemetryProbeOptions::*feature;
  bool optional = false;
  bool cgroup = false;  // attached to the root of the cgroup v2 hierarchy
  Loop loop = Loop::kAny;
  Via via = Via::kNone;
  bool essential = false;
  int recvmsg_args = 0;  // fexit on udp(v6)_recvmsg: for the function with this many arguments
};
constexpr auto kProcess = &TelemetryProbeOptions::process;
constexpr auto kNetwork = &TelemetryProbeOptions::network;
constexpr auto kPrivilege = &TelemetryProbeOptions::privilege;
constexpr auto kUdp = &TelemetryProbeOptions::udp;
using Prog = bpf_program* Programs::*;
constexpr Program process(Prog prog, Hook hook, Loop loop = Loop::kAny) {
  return {.prog = prog, .hook = hook, .feature = kProcess, .loop = loop};
}
constexpr Program tcp(Prog prog, Hook hook) {
  return {.prog = prog, .hook = hook, .feature = kNetwork};
}
constexpr Program privilege(Prog prog, Via via, bool essential) {
  return {
      .prog = prog, .feature = kPrivilege, .optional = true, .via = via, .essential = essential};
}
constexpr Program udp(Prog prog, Via via, bool essential, bool cgroup = false,
                      int recvmsg_args = 0) {
  return {.prog = prog,
          .feature = kUdp,
          .optional = true,
          .cgroup = cgroup,
          .via = via,
          .essential = essential,
          .recvmsg_args = recvmsg_args};
}
const Program kPrograms[] = {
    process(&Programs::exec_btf, Hook::kTpBtf, Loop::kHelper),
    process(&Programs::exec_btf_bounded, Hook::kTpBtf, Loop::kBounded),
    process(&Programs::fork_btf, Hook::kTpBtf),
    process(&Programs::exit_btf, Hook::kTpBtf),
    tcp(&Programs::tcp_state_btf, Hook::kTpBtf),
    process(&Programs::exec_tp, Hook::kTracepoint, Loop::kHelper),
    process(&Programs::exec_tp_bounded, Hook::kTracepoint, Loop::kBounded),
    process(&Programs::fork_tp, Hook::kTracepoint),
    process(&Programs::exit_tp, Hook::kTracepoint),
    tcp(&Programs::tcp_state_tp, Hook::kTracepoint),
    // Privilege events, one of two ways. fentry/fexit on the kernel's own
    // function for each call (a kernel without module support has no module
    // calls)...
    privilege(&Programs::priv_setuid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setuid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setreuid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setreuid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setresuid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setresuid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setfsuid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setfsuid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setgid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setgid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setregid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setregid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setresgid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setresgid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_setfsgid_fentry, Via::kFentry, true),
    privilege(&Programs::priv_setfsgid_fexit, Via::kFentry, true),
    privilege(&Programs::priv_capset_fentry, Via::kFentry, true),
    privilege(&Programs::priv_capset_fexit, Via::kFentry, true),
    privilege(&Programs::priv_ptrace_fentry, Via::kFentry, true),
    privilege(&Programs::priv_ptrace_fexit, Via::kFentry, true),
    privilege(&Programs::priv_bpf_fentry, Via::kFentry, true),
    privilege(&Programs::priv_bpf_fexit, Via::kFentry, true),
    privilege(&Programs::priv_init_module_fentry, Via::kFentry, false),
    privilege(&Programs::priv_init_module_fexit, Via::kFentry, false),
    privilege(&Programs::priv_finit_module_fentry, Via::kFentry, false),
    privilege(&Programs::priv_finit_module_fexit, Via::kFentry, false),
    // ...or the syscall tracepoints, whichever set the rest uses.
    privilege(&Programs::priv_setuid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setuid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setreuid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setreuid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setresuid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setresuid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setfsuid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setfsuid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setgid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setgid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setregid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setregid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setresgid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setresgid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setfsgid_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_setfsgid_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_capset_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_capset_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_ptrace_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_ptrace_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_bpf_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_bpf_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_init_module_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_init_module_exit, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_finit_module_enter, Via::kSyscallTracepoints, false),
    privilege(&Programs::priv_finit_module_exit, Via::kSyscallTracepoints, false),
    // UDP flows, one of two ways. The send/receive length tracepoints, with
    // the sendmsg/recvmsg address hooks on the root cgroup, which only serve
    // them...
    udp(&Programs::udp_sent, Via::kLengthTracepoints, true),
    udp(&Programs::udp_received, Via::kLengthTracepoints, true),
    udp(&Programs::udp_sendmsg4, Via::kLengthTracepoints, false, true),
    udp(&Programs::udp_sendmsg6, Via::kLengthTracepoints, false, true),
    udp(&Programs::udp_recvmsg4, Via::kLengthTracepoints, false, true),
    udp(&Programs::udp_recvmsg6, Via::kLengthTracepoints, false, true),
    // ...or fexit on the UDP send and receive functions; the receive ones in
    // the shape the kernel's function has.
    udp(&Programs::udp_sendmsg_exit, Via::kFexit, true),
    udp(&Programs::udpv6_sendmsg_exit, Via::kFexit, true),
    udp(&Programs::udp_recvmsg_exit, Via::kFexit, true, false, 5),
    udp(&Programs::udpv6_recvmsg_exit, Via::kFexit, true, false, 5),
    udp(&Programs::udp_recvmsg_exit_noblock, Via::kFexit, true, false, 6),
    udp(&Programs::udpv6_recvmsg_exit_noblock, Via::kFexit, true, false, 6),
};
constexpr size_t kProgramCount = std::size(kPrograms);

}  // namespace

// What the kernel's BTF says, for choosing programs before they are loaded
// (a load the kernel refuses costs a whole reload of the object).
struct TelemetryProbe::KernelBtf {
  bool udp_length_tracepoints = false;  // sock_send_length, sock_recv_length (6.3+)
  int udp_recvmsg_args = 0;             // 6 before 5.19 (noblock), 5 after; 0: unknown
};

namespace {

TelemetryProbe::KernelBtf readKernelBtf() {
  TelemetryProbe::KernelBtf facts;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return facts;
  facts.udp_length_tracepoints =
      btf__find_by_name_kind(vmlinux, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) > 0;
  int func = btf__find_by_name_kind(vmlinux, "udp_recvmsg", BTF_KIND_FUNC);
  if (func > 0) {
    const btf_type* proto = btf__type_by_id(vmlinux, btf__type_by_id(vmlinux, func)->type);
    if (proto != nullptr && btf_is_func_proto(proto)) facts.udp_recvmsg_args = btf_vlen(proto);
  }
  btf__free(vmlinux);
  return facts;
}

uint32_t filterFlags(const EventFilters& f) {
  uint32_t flags = 0;
  if (!f.ignore_comms.empty()) flags |= DM_FILTER_IGNORE_COMM;
  if (!f.ignore_uids.empty()) flags |= DM_FILTER_IGNORE_UID;
  if (!f.ignore_cgroups.empty()) flags |= DM_FILTER_IGNORE_CGROUP;
  if (!f.only_cgroups.empty()) flags |= DM_FILTER_ONLY_CGROUP;
  return flags;
}

Result<void> put(bpf_map* map, const void* key, size_t key_size, uint8_t value,
                 const std::string& what) {
  if (bpf_map__update_elem(map, key, key_size, &value, sizeof(value), BPF_ANY) != 0) {
    return Error(ErrorCode::kInvalidArgument, "cannot set the filter for " + what + ": " +
                                                  libbpfError(-errno) +
                                                  " (at most 256 entries per list)");
  }
  return {};
}

Result<void> fillFilters(telemetry_bpf& skel, const EventFilters& f) {
  for (const auto& comm : f.ignore_comms) {
    char key[DM_COMM_LEN] = {};
    std::memcpy(key, comm.data(), std::min(comm.size(), sizeof(key) - 1));
    if (auto r = put(skel.maps.filter_comm, key, sizeof(key), 1, "comm " + comm); !r.ok()) return r;
  }
  for (uint32_t uid : f.ignore_uids) {
    if (auto r = put(skel.maps.filter_uid, &uid, sizeof(uid), 1, "uid " + std::to_string(uid));
        !r.ok()) {
      return r;
    }
  }
  for (const auto& [ids, mark] : {std::pair{&f.ignore_cgroups, uint8_t{DM_CGROUP_IGNORED}},
                                  std::pair{&f.only_cgroups, uint8_t{DM_CGROUP_ONLY}}}) {
    for (uint64_t id : *ids) {
      if (auto r =
              put(skel.maps.filter_cgroup, &id, sizeof(id), mark, "cgroup " + std::to_string(id));
          !r.ok()) {
        return r;
      }
    }
  }
  return {};
}

}  // namespace

uint64_t EventCounters::total() const {
  uint64_t sum = 0;
  for (size_t type = 0; type < kEventTypes; ++type) sum += ofType(type);
  return sum;
}

uint64_t EventCounters::ofType(size_t type) const {
  uint64_t sum = 0;
  for (const auto& cpu : per_cpu) sum += type < cpu.size() ? cpu[type] : 0;
  return sum;
}

std::string_view eventTypeName(size_t type) {
  static constexpr std::string_view kNames[kEventTypes] = {
      "",    "process_exec", "process_args", "process_fork", "process_exit",
      "tcp", "privilege",    "udp_flow"};
  return type < kEventTypes ? kNames[type] : "";
}

void TelemetryProbe::SkeletonDeleter::operator()(telemetry_bpf* skel) const {
  telemetry_bpf__destroy(skel);
}
void TelemetryProbe::RingBufferDeleter::operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
void TelemetryProbe::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

TelemetryProbe::TelemetryProbe()
    : decoder_([this](Event&& e) {
        if (auto* p = std::get_if<PrivilegeEvent>(&e)) p->hook = viaName(privilege_via_);
        if (sink_ != nullptr) (*sink_)(std::move(e));
      }) {}

std::string_view viaName(Via via) {
  switch (via) {
    case Via::kLengthTracepoints:
      return "tp_btf";
    case Via::kFexit:
      return "fexit";
    case Via::kFentry:
      return "fentry";
    case Via::kSyscallTracepoints:
      return "tracepoint";
    case Via::kNone:
      break;
  }
  return "";
}

Result<std::unique_ptr<TelemetryProbe>> TelemetryProbe::open(const TelemetryProbeOptions& options) {
  routeLibbpfLogs();
  const bool bpf_loop = options.bpf_loop.value_or(kernelHasHelper(BPF_FUNC_loop));
  const bool ancestor_helper = options.ancestor_cgroup_helper.value_or(
      kernelHasHelper(BPF_FUNC_get_current_ancestor_cgroup_id));
  const KernelBtf btf = readKernelBtf();
  // The ways to record UDP flows and privilege events, best first. A way
  // the kernel refuses (fentry and fexit in lockdown) costs a reload.
  std::vector<Via> udp_ways{Via::kNone};  // first: the one tried
  if (options.udp_via) {
    udp_ways = {*options.udp_via};
  } else if (options.udp) {
    udp_ways = {Via::kFexit};
    if (btf.udp_length_tracepoints) udp_ways.insert(udp_ways.begin(), Via::kLengthTracepoints);
  }
  std::vector<Via> privilege_ways{Via::kNone};
  if (options.privilege_via) {
    privilege_ways = {*options.privilege_via};
  } else if (options.privilege) {
    privilege_ways = {Via::kFentry, Via::kSyscallTracepoints};
  }
  if (std::find(privilege_ways.begin(), privilege_ways.end(), Via::kSyscallTracepoints) !=
      privilege_ways.end()) {
    ensureTracefs();  // syscall tracepoints are found through it
  }
  using Loaded = std::unique_ptr<TelemetryProbe>;
  return firstHookThatLoads<Loaded>(
      options.only_hook, "telemetry", [&](Hook hook) -> Result<Loaded> {
        Ways ways{udp_ways, privilege_ways, {}};
        for (;;) {
          auto probe = load(options, hook, bpf_loop, ancestor_helper, ways, btf);
          if (!probe.ok()) return probe;
          auto& p = **probe;
          // A way that did not attach whole gives way to the next, if any.
          bool again = ways.next(kUdp, p.udp_via_ != Via::kNone, p.udp_missing_);
          again =
              ways.next(kPrivilege, p.privilege_via_ != Via::kNone, p.privilege_missing_) || again;
          if (!again) {
            p.passed_over_ = std::move(ways.passed_over);
            return probe;
          }
        }
      });
}

bool TelemetryProbe::Ways::next(bool TelemetryProbeOptions::*feature, bool whole,
                                const std::vector<std::string>& missing) {
  auto& list = feature == &TelemetryProbeOptions::udp ? udp : privilege;
  if (whole || list.size() < 2) return false;
  for (const auto& m : missing) {
    passed_over.push_back(std::string(viaName(list[1])) + " instead of " +
                          std::string(viaName(list[0])) + ": " + m);
  }
  list.erase(list.begin());
  return true;
}

// The programs one load of the object asks for, and what became of them.
class TelemetryProbe::Choice {
 public:
  Choice(const TelemetryProbeOptions& options, Hook hook, bool bpf_loop, int recvmsg_args,
         Ways& ways)
      : options_(options),
        hook_(hook),
        loop_(bpf_loop ? Loop::kHelper : Loop::kBounded),
        recvmsg_args_(recvmsg_args != 0 ? recvmsg_args : 5),
        ways_(ways) {
    for (size_t i = 0; i < kProgramCount; ++i) wanted_[i] = selected_[i] = chosen(kPrograms[i]);
  }

  bool wanted(size_t i) const { return wanted_[i]; }
  void drop(size_t i) { wanted_[i] = false; }
  Via via(const Program& p) const {
    if (p.feature == kUdp) return ways_.udp.front();
    if (p.feature == kPrivilege) return ways_.privilege.front();
    return Via::kNone;
  }

  // The kernel would not load program i. An essential program takes its
  // way with it (the kernel refusing one fentry program refuses them all):
  // the next way of its feature is chosen now when there is one, and `why`
  // goes to the ways passed over; else the way's programs are all left
  // out. Returns whether `why` is a hook missing for good.
  bool refuse(size_t i, const std::string& why) {
    const Program& p = kPrograms[i];
    if (!p.essential) {
      wanted_[i] = false;
      return true;
    }
    auto& list = p.feature == kUdp ? ways_.udp : ways_.privilege;
    bool other = list.size() > 1;
    if (other) ways_.next(p.feature, false, {why});
    for (size_t j = 0; j < kProgramCount; ++j) {
      if (kPrograms[j].feature == p.feature) {
        wanted_[j] = selected_[j] = other && chosen(kPrograms[j]);
      }
    }
    return !other;
  }

  // Whether a feature's way is whole: every program it cannot do without
  // is there, and one at least (the syscall tracepoints need none in
  // particular). A way that is not whole records nothing.
  bool whole(bool TelemetryProbeOptions::*feature) const {
    if (!(options_.*feature)) return false;
    bool any = false;
    for (size_t i = 0; i < kProgramCount; ++i) {
      const Program& p = kPrograms[i];
      if (p.feature != feature || !selected_[i]) continue;
      if (p.essential && !wanted_[i]) return false;
      any = any || (wanted_[i] && !p.cgroup);
    }
    return any;
  }

 private:
  bool chosen(const Program& p) const {
    return (!p.hook || *p.hook == hook_) && options_.*p.feature &&
           (p.loop == Loop::kAny || p.loop == loop_) && p.via == via(p) &&
           (p.recvmsg_args == 0 || p.recvmsg_args == recvmsg_args_);
  }

  const TelemetryProbeOptions& options_;
  Hook hook_;
  Loop loop_;
  int recvmsg_args_;
  Ways& ways_;
  std::array<bool, kProgramCount> wanted_{};
  std::array<bool, kProgramCount> selected_{};  // wanted_ before the kernel had its say
};

namespace {

ErrorCode codeOf(int err) {
  return err == -EPERM || err == -EACCES ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable;
}

}  // namespace

Result<std::unique_ptr<TelemetryProbe>> TelemetryProbe::load(const TelemetryProbeOptions& options,
                                                             Hook hook, bool bpf_loop,
                                                             bool ancestor_helper, Ways& ways,
                                                             const KernelBtf& btf) {
  std::unique_ptr<TelemetryProbe> probe(new TelemetryProbe());
  probe->hook_ = hook;
  // One set of hooks, for the features asked for: the kernel must not be
  // asked to verify hooks it cannot attach.
  Choice choice(options, hook, bpf_loop, btf.udp_recvmsg_args, ways);
  auto open = [&]() -> int {
    probe->skel_.reset(telemetry_bpf__open());
    if (!probe->skel_) return -errno;
    auto& skel = *probe->skel_;
    skel.rodata->self_tgid = options.self_tgid;
    skel.rodata->filter_flags = filterFlags(options.filters);
    skel.rodata->rate_limit = options.filters.rate_limit;
    uint32_t ring = ringSize(options.ring_buffer_bytes);
    bpf_map__set_max_entries(skel.maps.events, ring);
    skel.rodata->wakeup_bytes = options.batch_wakeups ? ring / 2 : 0;
    skel.rodata->ancestor_cgroup_helper = ancestor_helper;
    if (hook == Hook::kTracepoint) {
      // Kernels before 6.1 refuse to allocate map elements at run time for
      // plain tracepoint programs safely (a WARN in the kernel log, "trace
      // type BPF program uses run-time allocation"): these programs get
      // preallocated TCP maps (about 9 MiB of kernel memory). tp_btf
      // programs may allocate.
      for (bpf_map* map : {skel.maps.tcp_socks, skel.maps.tcp_listeners}) {
        bpf_map__set_map_flags(map, bpf_map__map_flags(map) & ~BPF_F_NO_PREALLOC);
      }
    }
    for (size_t i = 0; i < kProgramCount; ++i) {
      bpf_program__set_autoload(skel.progs.*kPrograms[i].prog, choice.wanted(i));
    }
    return 0;
  };
  // libbpf loads all or nothing: an optional program the kernel refuses (a
  // hook it lacks, a helper it does not have) is named from libbpf's log,
  // left out with the kernel's reason, and the rest loaded again.
  int err = 0;
  for (size_t attempt = 0; attempt <= kProgramCount; ++attempt) {
    LibbpfLogCapture capture;
    err = open();
    if (err != 0) break;
    err = telemetry_bpf__load(probe->skel_.get());
    if (err == 0) break;
    auto failed = failedProgram(capture.text());
    std::optional<size_t> which;
    for (size_t i = 0; failed && i < kProgramCount; ++i) {
      if (choice.wanted(i) &&
          failed->program == bpf_program__name(probe->skel_.get()->progs.*kPrograms[i].prog)) {
        which = i;
      }
    }
    if (!which) return Error(codeOf(err), libbpfError(err));
    std::string section =
        bpf_program__section_name(probe->skel_.get()->progs.*kPrograms[*which].prog);
    if (!kPrograms[*which].optional) {
      return Error(ErrorCode::kUnavailable, section + ": " + failed->reason);
    }
    std::string why = section + " (does not load here: " + failed->reason + ")";
    if (choice.refuse(*which, why)) probe->noteMissing(kPrograms[*which].feature, why);
  }
  if (!probe->skel_) {
    return Error(ErrorCode::kInternal, "cannot open the telemetry probe: " + libbpfError(err));
  }
  if (err != 0) return Error(codeOf(err), libbpfError(err));
  if (auto filled = fillFilters(*probe->skel_, options.filters); !filled.ok()) {
    return filled.error();
  }
  if (auto attached = probe->attach(choice); !attached.ok()) return attached.error();
  probe->udp_ = choice.whole(kUdp);
  probe->udp_via_ = probe->udp_ ? ways.udp.front() : Via::kNone;
  bool privilege = choice.whole(kPrivilege);
  probe->privilege_via_ = privilege ? ways.privilege.front() : Via::kNone;
  if (options.privilege && !privilege) probe->unserved_.emplace_back("privilege events");
  if (options.udp && !probe->udp_) probe->unserved_.emplace_back("UDP flows");
  probe->ring_.reset(
      ring_buffer__new(bpf_map__fd(probe->skel_->maps.events), &onSample, probe.get(), nullptr));
  if (!probe->ring_) {
    return Error(ErrorCode::kInternal, "cannot set up the ring buffer: " + libbpfError(-errno));
  }
  return probe;
}

void TelemetryProbe::noteMissing(bool TelemetryProbeOptions::*feature, std::string text) {
  if (feature == kUdp) udp_missing_.push_back(text);
  if (feature == kPrivilege) privilege_missing_.push_back(text);
  missing_.push_back(std::move(text));
}

Result<void> TelemetryProbe::attach(Choice& choice) {
  UniqueFd cgroup_root;
  std::vector<size_t> linked;  // the program of each link
  for (size_t i = 0; i < kProgramCount; ++i) {
    const Program& p = kPrograms[i];
    if (!choice.wanted(i) || (p.via != Via::kNone && !choice.whole(p.feature))) continue;
    bpf_program* prog = skel_.get()->progs.*p.prog;
    std::string where = bpf_program__section_name(prog);
    bpf_link* link = nullptr;
    int err = 0;
    if (p.cgroup) {
      if (!cgroup_root.valid()) {
        auto mount = cgroup2Mount();
        if (mount.ok()) cgroup_root = UniqueFd(::open(mount->c_str(), O_RDONLY | O_DIRECTORY));
      }
      link = cgroup_root.valid() ? bpf_program__attach_cgroup(prog, cgroup_root.get()) : nullptr;
      err = cgroup_root.valid() ? -errno : -ENOENT;
    } else {
      link = bpf_program__attach(prog);
      err = -errno;
    }
    if (link == nullptr) {
      if (!p.optional) return Error(codeOf(err), where + ": " + libbpfError(err));
      noteMissing(p.feature, where + " (" + libbpfError(err) + ")");
      choice.drop(i);
      continue;
    }
    links_.emplace_back(link);
    attached_.push_back(std::move(where));
    attached_programs_.push_back(prog);
    linked.push_back(i);
  }
  // A way left incomplete by a hook that did not attach records nothing.
  for (size_t l = linked.size(); l-- > 0;) {
    const Program& p = kPrograms[linked[l]];
    if (p.via != Via::kNone && !choice.whole(p.feature)) {
      auto at = static_cast<ptrdiff_t>(l);
      links_.erase(links_.begin() + at);
      attached_.erase(attached_.begin() + at);
      attached_programs_.erase(attached_programs_.begin() + at);
    }
  }
  return {};
}

TelemetryProbe::~TelemetryProbe() {
  ring_.reset();  // before the maps it reads
  // Closing a tracepoint's perf event waits for RCU grace periods (tens of
  // milliseconds each); closed side by side, the waits overlap.
  std::vector<std::thread> closers;
  for (auto& link : links_) closers.emplace_back([&link] { link.reset(); });
  for (auto& t : closers) t.join();
  links_.clear();
  skel_.reset();
}

int TelemetryProbe::onSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<TelemetryProbe*>(ctx);
  self->decoder_.feed(std::string_view(static_cast<const char*>(data), size));
  return 0;
}

Result<int> TelemetryProbe::poll(std::chrono::milliseconds timeout,
                                 const EventDecoder::Sink& sink) {
  sink_ = &sink;
  int n = ring_buffer__poll(ring_.get(), static_cast<int>(timeout.count()));
  // Events submitted without a wakeup (batch_wakeups) wait for this read.
  if (n >= 0) {
    int more = ring_buffer__consume(ring_.get());
    n = more < 0 ? more : n + more;
  }
  decoder_.flush();
  sink_ = nullptr;
  if (n < 0 && n != -EINTR) {
    return Error(ErrorCode::kIo, "ring buffer poll failed: " + libbpfError(n));
  }
  return n < 0 ? 0 : n;
}

Result<size_t> TelemetryProbe::flushUdpFlows(const EventDecoder::Sink& sink) {
  if (!udp_) return size_t{0};
  // Flip the table the kernel writes into, give programs that read the old
  // index a moment to finish (they run in microseconds, not preempted),
  // then drain the old table: nobody writes it any more.
  uint32_t old = skel_->bss->udp_active;
  __atomic_store_n(&skel_->bss->udp_active, old ^ 1u, __ATOMIC_SEQ_CST);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  bpf_map* table = old == 0 ? skel_->maps.udp_flows_0 : skel_->maps.udp_flows_1;
  std::vector<udp_flow_key> keys;
  udp_flow_key key{};
  udp_flow_key next{};
  const void* prev = nullptr;
  while (bpf_map__get_next_key(table, prev, &next, sizeof(next)) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  uint64_t now = nowSinceBoot();
  size_t n = 0;
  for (const auto& k : keys) {
    udp_flow_value value{};
    // Hash maps take lookup-and-delete from Linux 5.14 on; before, a lookup
    // and a delete do the same here: nobody writes this table any more.
    if (lookup_and_delete_) {
      if (bpf_map__lookup_and_delete_elem(table, &k, sizeof(k), &value, sizeof(value), 0) != 0) {
        if (errno == ENOENT) continue;
        lookup_and_delete_ = false;  // ENOTSUPP (524) before 5.14
      }
    }
    if (!lookup_and_delete_) {
      if (bpf_map__lookup_elem(table, &k, sizeof(k), &value, sizeof(value), 0) != 0) continue;
      bpf_map__delete_elem(table, &k, sizeof(k), 0);
    }
    UdpFlowEvent flow =
        decodeUdpFlow(std::string_view(reinterpret_cast<const char*>(&k), sizeof(k)),
                      std::string_view(reinterpret_cast<const char*>(&value), sizeof(value)), now);
    flow.hook = viaName(udp_via_);
    sink(Event(std::move(flow)));
    ++n;
  }
  return n;
}

std::vector<TelemetryProbe::ProgramStats> TelemetryProbe::programStats() const {
  std::vector<ProgramStats> stats;
  for (const bpf_program* prog : attached_programs_) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    ProgramStats s{.name = bpf_program__name(prog)};
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
      s.runs = info.run_cnt;
      s.run_time_ns = info.run_time_ns;
    }
    stats.push_back(std::move(s));
  }
  return stats;
}

Result<EventCounters> TelemetryProbe::drops() const {
  return readCounters(skel_->maps.drops, "drop");
}

Result<EventCounters> TelemetryProbe::throttled() const {
  return readCounters(skel_->maps.throttled, "rate limit");
}

Result<EventCounters> TelemetryProbe::readCounters(const bpf_map* map, const char* what) const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error(ErrorCode::kInternal, "cannot count CPUs: " + libbpfError(cpus));
  EventCounters counters;
  counters.per_cpu.resize(static_cast<size_t>(cpus));
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  for (uint32_t type = 1; type < DM_EVENT_TYPES; ++type) {
    if (bpf_map__lookup_elem(map, &type, sizeof(type), values.data(),
                             values.size() * sizeof(uint64_t), 0) != 0) {
      return Error(ErrorCode::kIo,
                   std::string("cannot read the ") + what + " counters: " + libbpfError(-errno));
    }
    for (size_t cpu = 0; cpu < values.size(); ++cpu) counters.per_cpu[cpu][type] = values[cpu];
  }
  return counters;
}

}  // namespace demarc::telemetry

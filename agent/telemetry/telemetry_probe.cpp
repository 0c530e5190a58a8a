#include "agent/telemetry/telemetry_probe.h"

#include <fcntl.h>

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
// feature it serves, and whether the probe can do without it.
using Programs = decltype(telemetry_bpf::progs);  // the skeleton's struct of programs
struct Program {
  bpf_program* Programs::*prog;
  std::optional<Hook> hook;
  bool TelemetryProbeOptions::*feature;
  bool optional = false;
  bool cgroup = false;  // attached to the root of the cgroup v2 hierarchy
};
constexpr auto kProcess = &TelemetryProbeOptions::process;
constexpr auto kNetwork = &TelemetryProbeOptions::network;
constexpr auto kPrivilege = &TelemetryProbeOptions::privilege;
constexpr auto kUdp = &TelemetryProbeOptions::udp;
const Program kPrograms[] = {
    {&Programs::exec_btf, Hook::kTpBtf, kProcess},
    {&Programs::fork_btf, Hook::kTpBtf, kProcess},
    {&Programs::exit_btf, Hook::kTpBtf, kProcess},
    {&Programs::tcp_state_btf, Hook::kTpBtf, kNetwork},
    {&Programs::exec_tp, Hook::kTracepoint, kProcess},
    {&Programs::fork_tp, Hook::kTracepoint, kProcess},
    {&Programs::exit_tp, Hook::kTracepoint, kProcess},
    {&Programs::tcp_state_tp, Hook::kTracepoint, kNetwork},
    // Syscall tracepoints, whichever set the rest uses. A kernel without
    // module support has no init_module tracepoints, for one.
    {&Programs::priv_setuid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setuid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setreuid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setreuid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setresuid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setresuid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setfsuid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setfsuid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setgid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setgid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setregid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setregid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setresgid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setresgid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_setfsgid_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_setfsgid_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_capset_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_capset_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_ptrace_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_ptrace_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_bpf_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_bpf_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_init_module_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_init_module_exit, std::nullopt, kPrivilege, true},
    {&Programs::priv_finit_module_enter, std::nullopt, kPrivilege, true},
    {&Programs::priv_finit_module_exit, std::nullopt, kPrivilege, true},
    // UDP: sendmsg/recvmsg address hooks on the root cgroup, and the
    // send/receive length tracepoints (typed only: added in Linux 6.3).
    {&Programs::udp_sendmsg4, std::nullopt, kUdp, true, true},
    {&Programs::udp_sendmsg6, std::nullopt, kUdp, true, true},
    {&Programs::udp_recvmsg4, std::nullopt, kUdp, true, true},
    {&Programs::udp_recvmsg6, std::nullopt, kUdp, true, true},
    {&Programs::udp_sent, std::nullopt, kUdp, true},
    {&Programs::udp_received, std::nullopt, kUdp, true},
};

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
        if (sink_ != nullptr) (*sink_)(std::move(e));
      }) {}

Result<std::unique_ptr<TelemetryProbe>> TelemetryProbe::open(const TelemetryProbeOptions& options) {
  routeLibbpfLogs();
  if (options.privilege) ensureTracefs();  // syscall tracepoints are found through it
  using Loaded = std::unique_ptr<TelemetryProbe>;
  return firstHookThatLoads<Loaded>(
      options.only_hook, "telemetry", [&](Hook hook) -> Result<Loaded> {
        Loaded probe(new TelemetryProbe());
        probe->hook_ = hook;
        // Load one set of hooks, for the features asked for: the kernel must
        // not be asked to verify hooks it cannot attach. When the optional
        // ones do not load (an older kernel refusing a helper), the probe
        // loads without them and says so.
        bool with_optional = true;
        auto wanted = [&](const Program& p) {
          return (!p.hook || *p.hook == hook) && options.*p.feature &&
                 (with_optional || !p.optional);
        };
        auto load = [&]() -> int {
          probe->skel_.reset(telemetry_bpf__open());
          if (!probe->skel_) return -errno;
          auto& skel = *probe->skel_;
          skel.rodata->self_tgid = options.self_tgid;
          skel.rodata->filter_flags = filterFlags(options.filters);
          skel.rodata->rate_limit = options.filters.rate_limit;
          uint32_t ring = ringSize(options.ring_buffer_bytes);
          bpf_map__set_max_entries(skel.maps.events, ring);
          skel.rodata->wakeup_bytes = options.batch_wakeups ? ring / 2 : 0;
          for (const auto& p : kPrograms) bpf_program__set_autoload(skel.progs.*p.prog, wanted(p));
          return telemetry_bpf__load(&skel);
        };
        int err = load();
        if (err != 0 && probe->skel_ && (options.privilege || options.udp)) {
          probe->missing_.push_back(
              "privilege and UDP hooks (they do not load here: " + libbpfError(err) + ")");
          with_optional = false;
          err = load();
        }
        if (!probe->skel_) {
          return Error(ErrorCode::kInternal,
                       "cannot open the telemetry probe: " + libbpfError(err));
        }
        if (err != 0) return Error(ErrorCode::kUnavailable, libbpfError(err));
        auto& loaded = *probe->skel_;
        if (auto filled = fillFilters(loaded, options.filters); !filled.ok()) return filled.error();
        UniqueFd cgroup_root;
        for (const auto& p : kPrograms) {
          if (!wanted(p)) continue;
          bpf_program* prog = loaded.progs.*p.prog;
          std::string where = bpf_program__section_name(prog);
          bpf_link* link = nullptr;
          int attach_err = 0;
          if (p.cgroup) {
            if (!cgroup_root.valid()) {
              auto mount = cgroup2Mount();
              if (mount.ok())
                cgroup_root = UniqueFd(::open(mount->c_str(), O_RDONLY | O_DIRECTORY));
            }
            link =
                cgroup_root.valid() ? bpf_program__attach_cgroup(prog, cgroup_root.get()) : nullptr;
            attach_err = cgroup_root.valid() ? -errno : -ENOENT;
          } else {
            link = bpf_program__attach(prog);
            attach_err = -errno;
          }
          if (link == nullptr) {
            if (!p.optional) {
              return Error(ErrorCode::kUnavailable, where + ": " + libbpfError(attach_err));
            }
            probe->missing_.push_back(where + " (" + libbpfError(attach_err) + ")");
            continue;
          }
          probe->links_.emplace_back(link);
          if (p.prog == &Programs::udp_sent) probe->udp_ = true;
          probe->attached_.push_back(std::move(where));
        }
        probe->ring_.reset(ring_buffer__new(bpf_map__fd(probe->skel_->maps.events), &onSample,
                                            probe.get(), nullptr));
        if (!probe->ring_) {
          return Error(ErrorCode::kInternal,
                       "cannot set up the ring buffer: " + libbpfError(-errno));
        }
        return probe;
      });
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
    if (bpf_map__lookup_and_delete_elem(table, &k, sizeof(k), &value, sizeof(value), 0) != 0) {
      continue;
    }
    sink(Event(decodeUdpFlow(std::string_view(reinterpret_cast<const char*>(&k), sizeof(k)),
                             std::string_view(reinterpret_cast<const char*>(&value), sizeof(value)),
                             now)));
    ++n;
  }
  return n;
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

#include "agent/cli/event_recorder.h"

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "agent/evidence/codec.h"
#include "agent/telemetry/cgroups.h"

namespace demarc::cli {
namespace {

void setDuration(google::protobuf::Duration& d, uint64_t ns) {
  d.set_seconds(static_cast<int64_t>(ns / 1'000'000'000));
  d.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

v1::NetworkEvent::Kind kindOf(telemetry::TcpEvent::Kind kind) {
  switch (kind) {
    case telemetry::TcpEvent::Kind::kConnect:
      return v1::NetworkEvent::KIND_CONNECT;
    case telemetry::TcpEvent::Kind::kAccept:
      return v1::NetworkEvent::KIND_ACCEPT;
    case telemetry::TcpEvent::Kind::kListen:
      return v1::NetworkEvent::KIND_LISTEN;
    case telemetry::TcpEvent::Kind::kClose:
      return v1::NetworkEvent::KIND_CLOSE;
  }
  return v1::NetworkEvent::KIND_UNSPECIFIED;
}

std::string execIdOf(const telemetry::ProcessCache& cache, uint32_t tgid) {
  const telemetry::ProcessInfo* p = cache.find(tgid);
  return p != nullptr ? p->exec_id : "";
}

uint64_t tcpRecord(const telemetry::TcpEvent& t, const telemetry::ProcessCache& cache,
                   v1::Record& record) {
  auto& n = *record.mutable_network();
  n.set_kind(kindOf(t.kind));
  n.set_pid(t.tgid);
  n.set_exec_id(execIdOf(cache, t.tgid));
  n.set_tid(t.pid);
  n.set_uid(t.uid);
  n.set_comm(t.comm);
  n.set_cgroup_id(t.cgroup_id);
  n.set_netns(t.netns);
  n.set_protocol("tcp");
  n.set_local_address(t.local_address);
  n.set_local_port(t.local_port);
  n.set_remote_address(t.remote_address);
  n.set_remote_port(t.remote_port);
  n.set_hook(std::string(telemetry::hookName(t.hook)));
  if (t.kind == telemetry::TcpEvent::Kind::kClose) {
    n.set_bytes_sent(t.bytes_sent);
    n.set_bytes_received(t.bytes_received);
    n.set_failed(t.failed);
    if (t.start_ktime != 0 && t.ktime >= t.start_ktime) {
      setDuration(*n.mutable_duration(), t.ktime - t.start_ktime);
    }
  }
  return t.ktime;
}

Result<std::vector<uint64_t>> cgroupIds(
    const google::protobuf::RepeatedPtrField<std::string>& paths, const std::string& field) {
  std::vector<uint64_t> ids;
  if (paths.empty()) return ids;
  auto mount = telemetry::cgroup2Mount();
  if (!mount.ok()) return Error(mount.error().code(), field + ": " + mount.error().message());
  for (int i = 0; i < paths.size(); ++i) {
    auto id = telemetry::cgroupIdOf(*mount, paths[i]);
    if (!id.ok()) {
      return Error(ErrorCode::kInvalidArgument,
                   field + "[" + std::to_string(i) + "]: " + id.error().message());
    }
    ids.push_back(*id);
  }
  return ids;
}

void setCredentials(const telemetry::Credentials& c, v1::Credentials& out) {
  out.set_uid(c.uid);
  out.set_euid(c.euid);
  out.set_suid(c.suid);
  out.set_fsuid(c.fsuid);
  out.set_gid(c.gid);
  out.set_egid(c.egid);
  out.set_sgid(c.sgid);
  out.set_fsgid(c.fsgid);
  out.set_cap_effective(c.cap_effective);
  out.set_cap_permitted(c.cap_permitted);
}

uint64_t privilegeRecord(const telemetry::PrivilegeEvent& x, const telemetry::ProcessCache& cache,
                         v1::Record& record) {
  auto& p = *record.mutable_privilege();
  p.set_kind(std::string(telemetry::privilegeKindName(x.kind)));
  p.set_syscall(x.syscall);
  p.set_pid(x.tgid);
  p.set_tid(x.pid);
  p.set_exec_id(execIdOf(cache, x.tgid));
  p.set_comm(x.comm);
  p.set_cgroup_id(x.cgroup_id);
  p.set_result(x.result);
  for (uint64_t a : x.args) p.add_args(a);
  if (x.kind == telemetry::PrivilegeEvent::Kind::kPtrace) {
    p.set_target_pid(x.target);
    p.set_target_exec_id(execIdOf(cache, x.target));
  }
  p.set_name(x.name);
  setCredentials(x.before, *p.mutable_before());
  setCredentials(x.after, *p.mutable_after());
  p.set_hook(std::string(x.hook));
  return x.ktime;
}

uint64_t udpFlowRecord(const telemetry::UdpFlowEvent& f, const telemetry::ProcessCache& cache,
                       v1::Record& record) {
  auto& n = *record.mutable_network();
  n.set_kind(v1::NetworkEvent::KIND_FLOW);
  n.set_protocol("udp");
  n.set_pid(f.tgid);
  n.set_exec_id(execIdOf(cache, f.tgid));
  n.set_uid(f.uid);
  n.set_comm(f.comm);
  n.set_cgroup_id(f.cgroup_id);
  n.set_local_address(f.local_address);
  n.set_local_port(f.local_port);
  n.set_remote_address(f.remote_address);
  n.set_remote_port(f.remote_port);
  n.set_packets_sent(f.packets_sent);
  n.set_bytes_sent(f.bytes_sent);
  n.set_packets_received(f.packets_received);
  n.set_bytes_received(f.bytes_received);
  *n.mutable_first_seen() = evidence::toTimestamp(telemetry::wallClockOf(f.first_ktime));
  *n.mutable_last_seen() = evidence::toTimestamp(telemetry::wallClockOf(f.last_ktime));
  n.set_hook(std::string(f.hook));
  return f.ktime;
}

uint64_t execRecord(const telemetry::ExecEvent& x, const telemetry::ProcessCache& cache,
                    size_t depth, v1::Record& record) {
  auto& p = *record.mutable_process();
  p.set_kind(v1::ProcessEvent::KIND_EXEC);
  p.set_pid(x.tgid);
  p.set_ppid(x.ppid);
  p.set_uid(x.uid);
  p.set_gid(x.gid);
  p.set_euid(x.euid);
  p.set_egid(x.egid);
  p.set_loginuid(x.loginuid);
  p.set_comm(x.comm);
  p.set_executable(x.filename);
  for (const auto& a : x.args) p.add_argv(a);
  p.set_argv_truncated(x.args_truncated);
  p.set_argv_lost(x.args_lost);
  p.set_cwd(x.cwd);
  p.set_cwd_truncated(x.cwd_truncated);
  p.set_cgroup_id(x.cgroup_id);
  p.set_inode(x.inode);
  p.set_hook(std::string(telemetry::hookName(x.hook)));
  p.set_exec_id(execIdOf(cache, x.tgid));
  if (x.gained_setuid) p.add_privileges_gained("setuid");
  if (x.gained_setgid) p.add_privileges_gained("setgid");
  if (x.gained_capabilities) p.add_privileges_gained("capabilities");
  p.set_cap_permitted(x.cap_permitted);
  p.set_cap_effective(x.cap_effective);
  for (const auto& a : cache.ancestry(x.tgid, depth)) {
    auto& out = *p.add_ancestry();
    out.set_pid(a.pid);
    out.set_executable(a.executable);
    out.set_exec_id(a.exec_id);
  }
  return x.ktime;
}

uint64_t forkRecord(const telemetry::ForkEvent& f, const telemetry::ProcessCache& cache,
                    v1::Record& record) {
  auto& p = *record.mutable_process();
  p.set_kind(v1::ProcessEvent::KIND_FORK);
  p.set_pid(f.tgid);
  p.set_ppid(f.parent_tgid);
  p.set_exec_id(execIdOf(cache, f.tgid));
  p.set_parent_exec_id(execIdOf(cache, f.parent_tgid));
  return f.ktime;
}

uint64_t exitRecord(const telemetry::ExitEvent& x, const telemetry::ProcessCache& cache,
                    v1::Record& record) {
  auto& p = *record.mutable_process();
  p.set_kind(v1::ProcessEvent::KIND_EXIT);
  p.set_pid(x.tgid);
  p.set_exec_id(execIdOf(cache, x.tgid));
  p.set_ppid(x.ppid);
  p.set_comm(x.comm);
  p.set_exit_code(static_cast<int32_t>(x.exit_code));
  p.set_signal(x.signal);
  if (x.start_boottime != 0 && x.ktime >= x.start_boottime) {
    setDuration(*p.mutable_lifetime(), x.ktime - x.start_boottime);
  }
  return x.ktime;
}

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

void toRecord(const telemetry::Event& event, const telemetry::ProcessCache& cache, size_t depth,
              v1::Record& record) {
  uint64_t ktime = std::visit(
      Overloaded{
          [&](const telemetry::ExecEvent& x) { return execRecord(x, cache, depth, record); },
          [&](const telemetry::ForkEvent& f) { return forkRecord(f, cache, record); },
          [&](const telemetry::ExitEvent& x) { return exitRecord(x, cache, record); },
          [&](const telemetry::TcpEvent& t) { return tcpRecord(t, cache, record); },
          [&](const telemetry::PrivilegeEvent& x) { return privilegeRecord(x, cache, record); },
          [&](const telemetry::UdpFlowEvent& f) { return udpFlowRecord(f, cache, record); },
      },
      event);
  *record.mutable_time() = evidence::toTimestamp(telemetry::wallClockOf(ktime));
}

Result<telemetry::TelemetryProbeOptions> probeOptions(const config::v1::Telemetry& config,
                                                      uint32_t self_tgid) {
  telemetry::TelemetryProbeOptions options;
  options.ring_buffer_bytes = static_cast<uint32_t>(config.ring_buffer_size());
  options.self_tgid = self_tgid;
  options.process = config.process_events();
  options.network = config.network_events();
  options.privilege = config.privilege_events();
  options.udp = config.udp_flows();
  auto& f = options.filters;
  for (int i = 0; i < config.ignore().comms_size(); ++i) {
    const auto& comm = config.ignore().comms(i);
    if (comm.empty() || comm.size() > 15) {
      return Error(ErrorCode::kInvalidArgument,
                   "telemetry.ignore.comms[" + std::to_string(i) + "]: '" + comm +
                       "': a command name has 1 to 15 characters (the kernel keeps no more)");
    }
    f.ignore_comms.push_back(comm);
  }
  f.ignore_uids.assign(config.ignore().uids().begin(), config.ignore().uids().end());
  auto ignored = cgroupIds(config.ignore().cgroups(), "telemetry.ignore.cgroups");
  if (!ignored.ok()) return ignored.error();
  f.ignore_cgroups = std::move(*ignored);
  auto only = cgroupIds(config.only_cgroups(), "telemetry.only_cgroups");
  if (!only.ok()) return only.error();
  f.only_cgroups = std::move(*only);
  f.rate_limit = config.rate_limit();
  return options;
}

EventRecorder::EventRecorder(std::unique_ptr<telemetry::TelemetryProbe> probe,
                             evidence::Pipeline& pipeline, const RecorderSettings& settings)
    : probe_(std::move(probe)),
      pipeline_(pipeline),
      cache_(settings.boot_id),
      ancestry_depth_(settings.ancestry_depth),
      udp_flow_interval_(settings.udp_flow_interval),
      hashes_(settings.hash_executables ? std::make_optional<telemetry::BinaryHashes>()
                                        : std::nullopt),
      thread_([this] { loop(); }) {}

EventRecorder::~EventRecorder() {
  stop_ = true;
  thread_.join();
  // What each program cost the host, where the kernel counts it
  // (sysctl kernel.bpf_stats_enabled=1, which has a small cost of its own).
  for (const auto& s : probe_->programStats()) {
    if (s.runs == 0) continue;
    spdlog::info("eBPF cost: {} ran {} times, {} ns each on average", s.name, s.runs,
                 s.run_time_ns / s.runs);
  }
}

void EventRecorder::loop() {
  // Seeded after the probe is attached: a process starting in between is
  // in both, and its events update what /proc said.
  auto seeded = cache_.seed(HostRoot("/"));
  if (seeded.ok()) {
    spdlog::info("process cache: {} processes from /proc", *seeded);
  } else {
    spdlog::warn("process cache: cannot read /proc: {}; exec ids and ancestry start empty",
                 seeded.error().message());
  }
  // Records are built in an arena over a buffer kept for the purpose: an
  // event's record is a dozen small objects, written out and dropped at once.
  std::vector<char> arena_block(16 * 1024);
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = arena_block.data();
  arena_options.initial_block_size = arena_block.size();
  const telemetry::EventDecoder::Sink sink = [&](telemetry::Event&& e) {
    cache_.apply(e);
    google::protobuf::Arena arena(arena_options);
    auto* record = google::protobuf::Arena::CreateMessage<v1::Record>(&arena);
    toRecord(e, cache_, ancestry_depth_, *record);
    const auto* exec = std::get_if<telemetry::ExecEvent>(&e);
    if (exec != nullptr && hashes_) {
      auto digest = hashes_->of(*exec);
      if (digest.ok()) {
        record->mutable_process()->set_exe_sha256(*digest);
      } else {
        record->mutable_process()->set_exe_sha256_error(digest.error().message());
      }
    }
    pipeline_.submit(*record);
  };
  bool last = false;
  auto flows_read = std::chrono::steady_clock::now();
  auto housekeeping = flows_read;
  // While events flow the ring is read every few milliseconds, on this
  // thread's own timer, so the probes need not wake it (see
  // TelemetryProbeOptions::batch_wakeups); when quiet, less often.
  constexpr std::chrono::milliseconds kBusyPoll(10);
  constexpr std::chrono::milliseconds kQuietPoll(100);
  bool busy = false;
  while (!last) {
    last = stop_.load();  // one more pass after stop: drain what is in the ring
    auto n = probe_->poll(last   ? std::chrono::milliseconds(0)
                          : busy ? kBusyPoll
                                 : kQuietPoll,
                          sink);
    if (!n.ok()) {
      spdlog::error("telemetry events: {}", n.error().message());
      return;
    }
    busy = *n > 0;
    auto now = std::chrono::steady_clock::now();
    if (last || now - flows_read >= udp_flow_interval_) {
      flows_read = now;
      auto flows = probe_->flushUdpFlows(sink);
      if (!flows.ok()) spdlog::warn("UDP flows: {}", flows.error().message());
    }
    // Counters and the cache's grace period once a second, not per read:
    // under load reads come back to back.
    if (last || now - housekeeping >= std::chrono::seconds(1)) {
      housekeeping = now;
      reportDrops();
      cache_.expire(telemetry::nowSinceBoot());
      auto stats = cache_.stats();
      if (stats.evicted > reported_evictions_) {
        spdlog::warn(
            "process cache full: {} live processes pushed out so far; their later events "
            "carry no exec id",
            stats.evicted);
        reported_evictions_ = stats.evicted;
      }
    }
  }
}

void EventRecorder::reportDrops() {
  // Both counters only grow; the pipeline is told what is new since the
  // last report, so each batch header carries the losses of its period.
  auto report = [&](const Result<telemetry::EventCounters>& counters, const char* reason,
                    std::array<uint64_t, telemetry::kEventTypes>& reported) {
    if (!counters.ok()) return;
    for (size_t type = 1; type < telemetry::kEventTypes; ++type) {
      uint64_t total = counters->ofType(type);
      if (total > reported[type]) {
        pipeline_.addDrops(std::string(telemetry::eventTypeName(type)) + reason,
                           total - reported[type]);
        reported[type] = total;
      }
    }
  };
  report(probe_->drops(), ".ring_full", reported_drops_);
  report(probe_->throttled(), ".rate_limited", reported_throttled_);
}

}  // namespace demarc::cli

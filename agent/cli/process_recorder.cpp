#include "agent/cli/process_recorder.h"

#include <spdlog/spdlog.h>

#include "agent/evidence/codec.h"

namespace demarc::cli {
namespace {

constexpr const char* kDropSources[] = {"", "process_exec", "process_args", "process_fork",
                                        "process_exit"};

}  // namespace

v1::Record toRecord(const telemetry::ProcessEvent& event, const std::string& boot_id) {
  v1::Record record;
  auto& p = *record.mutable_process();
  uint64_t ktime = 0;
  if (const auto* x = std::get_if<telemetry::ExecEvent>(&event)) {
    ktime = x->ktime;
    p.set_kind(v1::ProcessEvent::KIND_EXEC);
    p.set_pid(x->tgid);
    p.set_ppid(x->ppid);
    p.set_uid(x->uid);
    p.set_gid(x->gid);
    p.set_euid(x->euid);
    p.set_egid(x->egid);
    p.set_loginuid(x->loginuid);
    p.set_comm(x->comm);
    p.set_executable(x->filename);
    for (const auto& a : x->args) p.add_argv(a);
    p.set_argv_truncated(x->args_truncated);
    p.set_argv_lost(x->args_lost);
    p.set_cwd(x->cwd);
    p.set_cwd_truncated(x->cwd_truncated);
    p.set_cgroup_id(x->cgroup_id);
    p.set_inode(x->inode);
    p.set_hook(std::string(telemetry::hookName(x->hook)));
    p.set_exec_id(boot_id + "-" + std::to_string(x->tgid) + "-" + std::to_string(x->ktime));
  } else if (const auto* f = std::get_if<telemetry::ForkEvent>(&event)) {
    ktime = f->ktime;
    p.set_kind(v1::ProcessEvent::KIND_FORK);
    p.set_pid(f->tgid);
    p.set_ppid(f->parent_tgid);
  } else {
    const auto& x = std::get<telemetry::ExitEvent>(event);
    ktime = x.ktime;
    p.set_kind(v1::ProcessEvent::KIND_EXIT);
    p.set_pid(x.tgid);
    p.set_ppid(x.ppid);
    p.set_comm(x.comm);
    p.set_exit_code(static_cast<int32_t>(x.exit_code));
    p.set_signal(x.signal);
    if (x.start_boottime != 0 && x.ktime >= x.start_boottime) {
      uint64_t ns = x.ktime - x.start_boottime;
      p.mutable_lifetime()->set_seconds(static_cast<int64_t>(ns / 1'000'000'000));
      p.mutable_lifetime()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
    }
  }
  *record.mutable_time() = evidence::toTimestamp(telemetry::wallClockOf(ktime));
  return record;
}

ProcessRecorder::ProcessRecorder(std::unique_ptr<telemetry::ProcessProbe> probe,
                                 evidence::Pipeline& pipeline, std::string boot_id)
    : probe_(std::move(probe)),
      pipeline_(pipeline),
      boot_id_(std::move(boot_id)),
      thread_([this] { loop(); }) {}

ProcessRecorder::~ProcessRecorder() {
  stop_ = true;
  thread_.join();
}

void ProcessRecorder::loop() {
  const telemetry::ProcessDecoder::Sink sink = [this](telemetry::ProcessEvent&& e) {
    pipeline_.submit(toRecord(e, boot_id_));
  };
  bool last = false;
  while (!last) {
    last = stop_.load();  // one more pass after stop: drain what is in the ring
    auto n = probe_->poll(std::chrono::milliseconds(last ? 0 : 100), sink);
    if (!n.ok()) {
      spdlog::error("process events: {}", n.error().message());
      return;
    }
    reportDrops();
  }
}

void ProcessRecorder::reportDrops() {
  auto drops = probe_->drops();
  if (!drops.ok()) return;
  for (size_t type = 1; type < reported_drops_.size(); ++type) {
    uint64_t total = 0;
    for (const auto& cpu : drops->per_cpu) total += cpu[type];
    if (total > reported_drops_[type]) {
      pipeline_.addDrops(kDropSources[type], total - reported_drops_[type]);
      reported_drops_[type] = total;
    }
  }
}

}  // namespace demarc::cli

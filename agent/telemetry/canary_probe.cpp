#include "agent/telemetry/canary_probe.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <linux/types.h>  // canary.h uses the kernel integer types

#include "probes/canary.h"
#include "probes/canary.skel.h"

namespace demarc::telemetry {

void CanaryProbe::SkeletonDeleter::operator()(canary_bpf* skel) const { canary_bpf__destroy(skel); }
void CanaryProbe::RingBufferDeleter::operator()(ring_buffer* rb) const { ring_buffer__free(rb); }

Result<std::unique_ptr<CanaryProbe>> CanaryProbe::open(const CanaryOptions& options) {
  routeLibbpfLogs();
  using Loaded = std::unique_ptr<CanaryProbe>;
  return firstHookThatLoads<Loaded>(options.only_hook, "exec", [&](Hook hook) -> Result<Loaded> {
    Loaded probe(new CanaryProbe());
    probe->hook_ = hook;
    probe->skel_.reset(canary_bpf__open());
    if (!probe->skel_) {
      return Error(ErrorCode::kInternal, "cannot open the canary probe: " + libbpfError(-errno));
    }
    probe->skel_->rodata->filter_ppid = options.filter_ppid;
    // Load one program of the two: the kernel must not be asked to verify a
    // hook it cannot attach.
    bpf_program__set_autoload(probe->skel_->progs.canary_exec_btf, hook == Hook::kTpBtf);
    bpf_program__set_autoload(probe->skel_->progs.canary_exec_tp, hook == Hook::kTracepoint);
    int err = canary_bpf__load(probe->skel_.get());
    if (err == 0) err = canary_bpf__attach(probe->skel_.get());
    if (err != 0) return Error(ErrorCode::kUnavailable, libbpfError(err));
    probe->ring_.reset(
        ring_buffer__new(bpf_map__fd(probe->skel_->maps.events), &onSample, probe.get(), nullptr));
    if (!probe->ring_) {
      return Error(ErrorCode::kInternal, "cannot set up the ring buffer: " + libbpfError(-errno));
    }
    return probe;
  });
}

CanaryProbe::~CanaryProbe() {
  ring_.reset();  // before the maps it reads
  skel_.reset();
}

int CanaryProbe::onSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<CanaryProbe*>(ctx);
  if (size < sizeof(canary_exec_event) || self->handler_ == nullptr) return 0;
  canary_exec_event raw;
  std::memcpy(&raw, data, sizeof(raw));
  CanaryEvent event;
  event.pid = raw.pid;
  event.ppid = raw.ppid;
  event.uid = raw.uid;
  event.hook = raw.hook == 2 ? Hook::kTracepoint : Hook::kTpBtf;
  event.comm.assign(raw.comm, strnlen(raw.comm, sizeof(raw.comm)));
  event.filename.assign(raw.filename, strnlen(raw.filename, sizeof(raw.filename)));
  (*self->handler_)(event);
  return 0;
}

Result<int> CanaryProbe::poll(std::chrono::milliseconds timeout,
                              const std::function<void(const CanaryEvent&)>& handler) {
  handler_ = &handler;
  int n = ring_buffer__poll(ring_.get(), static_cast<int>(timeout.count()));
  handler_ = nullptr;
  if (n < 0 && n != -EINTR) {
    return Error(ErrorCode::kIo, "ring buffer poll failed: " + libbpfError(n));
  }
  return n < 0 ? 0 : n;
}

Result<uint64_t> CanaryProbe::drops() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error(ErrorCode::kInternal, "cannot count CPUs: " + libbpfError(cpus));
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  uint32_t key = 0;
  if (bpf_map__lookup_elem(skel_->maps.drops, &key, sizeof(key), values.data(),
                           values.size() * sizeof(uint64_t), 0) != 0) {
    return Error(ErrorCode::kIo, "cannot read drop counters: " + libbpfError(-errno));
  }
  uint64_t total = 0;
  for (uint64_t v : values) total += v;
  return total;
}

}  // namespace demarc::telemetry

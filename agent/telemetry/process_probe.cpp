#include "agent/telemetry/process_probe.h"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <linux/types.h>  // process.h uses the kernel integer types

#include "probes/process.h"
#include "probes/process.skel.h"

namespace demarc::telemetry {
namespace {

uint32_t ringSize(uint32_t requested) {
  auto page = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
  uint32_t size = page;
  while (size < requested && size < (1u << 30)) size <<= 1;
  return size;
}

}  // namespace

uint64_t DropCounters::total() const {
  uint64_t sum = 0;
  for (const auto& cpu : per_cpu) {
    for (uint64_t v : cpu) sum += v;
  }
  return sum;
}

void ProcessProbe::SkeletonDeleter::operator()(process_bpf* skel) const {
  process_bpf__destroy(skel);
}
void ProcessProbe::RingBufferDeleter::operator()(ring_buffer* rb) const { ring_buffer__free(rb); }

ProcessProbe::ProcessProbe()
    : decoder_([this](ProcessEvent&& e) {
        if (sink_ != nullptr) (*sink_)(std::move(e));
      }) {}

Result<std::unique_ptr<ProcessProbe>> ProcessProbe::open(const ProcessProbeOptions& options) {
  routeLibbpfLogs();
  using Loaded = std::unique_ptr<ProcessProbe>;
  return firstHookThatLoads<Loaded>(options.only_hook, "process", [&](Hook hook) -> Result<Loaded> {
    Loaded probe(new ProcessProbe());
    probe->hook_ = hook;
    probe->skel_.reset(process_bpf__open());
    if (!probe->skel_) {
      return Error(ErrorCode::kInternal, "cannot open the process probe: " + libbpfError(-errno));
    }
    probe->skel_->rodata->self_tgid = options.self_tgid;
    bpf_map__set_max_entries(probe->skel_->maps.events, ringSize(options.ring_buffer_bytes));
    // Load one set of hooks: the kernel must not be asked to verify hooks it
    // cannot attach.
    bool btf = hook == Hook::kTpBtf;
    bpf_program__set_autoload(probe->skel_->progs.exec_btf, btf);
    bpf_program__set_autoload(probe->skel_->progs.fork_btf, btf);
    bpf_program__set_autoload(probe->skel_->progs.exit_btf, btf);
    bpf_program__set_autoload(probe->skel_->progs.exec_tp, !btf);
    bpf_program__set_autoload(probe->skel_->progs.fork_tp, !btf);
    bpf_program__set_autoload(probe->skel_->progs.exit_tp, !btf);
    int err = process_bpf__load(probe->skel_.get());
    if (err == 0) err = process_bpf__attach(probe->skel_.get());
    if (err != 0) return Error(ErrorCode::kUnavailable, libbpfError(err));
    probe->ring_.reset(
        ring_buffer__new(bpf_map__fd(probe->skel_->maps.events), &onSample, probe.get(), nullptr));
    if (!probe->ring_) {
      return Error(ErrorCode::kInternal, "cannot set up the ring buffer: " + libbpfError(-errno));
    }
    return probe;
  });
}

ProcessProbe::~ProcessProbe() {
  ring_.reset();  // before the maps it reads
  skel_.reset();
}

int ProcessProbe::onSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<ProcessProbe*>(ctx);
  self->decoder_.feed(std::string_view(static_cast<const char*>(data), size));
  return 0;
}

Result<int> ProcessProbe::poll(std::chrono::milliseconds timeout,
                               const ProcessDecoder::Sink& sink) {
  sink_ = &sink;
  int n = ring_buffer__poll(ring_.get(), static_cast<int>(timeout.count()));
  decoder_.flush();
  sink_ = nullptr;
  if (n < 0 && n != -EINTR) {
    return Error(ErrorCode::kIo, "ring buffer poll failed: " + libbpfError(n));
  }
  return n < 0 ? 0 : n;
}

Result<DropCounters> ProcessProbe::drops() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error(ErrorCode::kInternal, "cannot count CPUs: " + libbpfError(cpus));
  DropCounters counters;
  counters.per_cpu.resize(static_cast<size_t>(cpus));
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  for (uint32_t type = 1; type < DM_EVENT_TYPES; ++type) {
    if (bpf_map__lookup_elem(skel_->maps.drops, &type, sizeof(type), values.data(),
                             values.size() * sizeof(uint64_t), 0) != 0) {
      return Error(ErrorCode::kIo, "cannot read drop counters: " + libbpfError(-errno));
    }
    for (size_t cpu = 0; cpu < values.size(); ++cpu) counters.per_cpu[cpu][type] = values[cpu];
  }
  return counters;
}

}  // namespace demarc::telemetry
